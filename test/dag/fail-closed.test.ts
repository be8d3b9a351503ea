// The fail-closed rule: a field that restricts who may reach what, or how
// much, and that isobar does not enforce, makes the HTTPProxy invalid and
// serves nothing of it; fields that restrict nothing stay warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import { assertStatuses, endpoints, invalid, invalidSame, ORPHANED, proxy, root, run, service, tlsSecret, VALID, vhost, type Err, type Row } from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const pair = await (await createCa('fail-closed CA')).issue({ dnsNames: [FQDN] });
const notServed = (where: string, field: string): Err => [
  'SpecError',
  'NotSupported',
  `${where}${field} is not supported by isobar; this HTTPProxy is not served, rather than served without it`,
];
const limits = (annotations: Record<string, string>) => [service('s', [{ port: 80 }], { annotations }), endpoints('s', ['10.0.0.1'], 80)];
const limitsErr = (list: string): Err => [
  'ServiceError',
  'NotSupported',
  `Service "default/s" sets ${list}: circuit breakers are not supported by isobar, so routes to it are not served rather than served without the limit`,
];
const ALL_LIMITS =
  'projectcontour.io/max-connections, projectcontour.io/max-pending-requests, projectcontour.io/max-requests, projectcontour.io/max-retries, projectcontour.io/per-host-max-connections';
const noHttp = (r: ReturnType<typeof run>) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);

const rows: Row[] = [
  {
    name: 'a virtual host global rate limit: invalid, nothing served',
    objects: [proxy('p', { virtualhost: { fqdn: FQDN, rateLimitPolicy: { global: { descriptors: [] } } }, routes: [{ services: [svc] }] }), ...base],
    expect: { p: invalidSame(notServed('Spec.VirtualHost.', 'rateLimitPolicy.global')) },
    check: noHttp,
  },
  {
    name: 'a virtual host rate limit on a TLS virtual host: neither listener serves it',
    objects: [
      proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge' }, rateLimitPolicy: { global: { descriptors: [] } } }, routes: [{ services: [svc] }] }),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: { p: { ...invalidSame(notServed('Spec.VirtualHost.', 'rateLimitPolicy.global')), fqdn: FQDN } },
    check: (r) => {
      noHttp(r);
      assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []);
    },
  },
  {
    name: 'a route rate limit: the proxy\'s routes are dropped; warnings for fields that restrict nothing remain',
    objects: [
      root('p', FQDN, {
        routes: [
          { services: [svc] },
          { conditions: [{ prefix: '/x' }], services: [svc], rateLimitPolicy: { global: { descriptors: [] } }, cookieRewritePolicies: [] } as never,
        ],
      }),
      ...base,
    ],
    expect: {
      p: {
        ...invalidSame(notServed('route "/x": ', 'rateLimitPolicy.global')),
        warnings: [['SpecError', 'IgnoredField', 'route "/x": cookieRewritePolicies is not supported by isobar and is ignored']],
      },
    },
    check: noHttp,
  },
  {
    name: 'a rate limit in an included proxy: that proxy is invalid and serves nothing; the root serves the rest',
    objects: [
      root('p', FQDN, { routes: [{ services: [svc] }], includes: [{ name: 'c', conditions: [{ prefix: '/c' }] }] }),
      proxy('c', { routes: [{ services: [svc], rateLimitPolicy: { global: { descriptors: [] } } } as never] }),
      ...base,
    ],
    expect: { p: VALID, c: invalidSame(notServed('route "/c": ', 'rateLimitPolicy.global')) },
    check: (r) => assert.deepEqual(vhost(r, FQDN)!.routes.map((x) => x.path.value), ['/']),
  },
  {
    name: 'a Service with a circuit-breaker annotation: the route\'s proxy is invalid, nothing served',
    objects: [root('p', FQDN, { routes: [{ services: [svc] }] }), ...limits({ 'projectcontour.io/max-connections': '10' })],
    expect: { p: invalid(`route "/": service "s": ${limitsErr('projectcontour.io/max-connections')[2]}`, limitsErr('projectcontour.io/max-connections')) },
    check: noHttp,
  },
  {
    name: 'every circuit-breaker annotation is named, in Contour\'s order',
    objects: [
      root('p', FQDN, { routes: [{ services: [svc] }] }),
      ...limits({
        'projectcontour.io/per-host-max-connections': '1',
        'projectcontour.io/max-retries': '3',
        'projectcontour.io/max-requests': '100',
        'projectcontour.io/max-pending-requests': '4294967295',
        'projectcontour.io/max-connections': '7',
      }),
    ],
    expect: {
      p: invalid(
        `route "/": service "s": ${limitsErr(ALL_LIMITS)[2]}`,
        limitsErr(ALL_LIMITS),
      ),
    },
    check: noHttp,
  },
  {
    name: 'annotations Contour reads as no limit (0, not a uint32, signed, other prefixes) restrict nothing',
    objects: [
      root('p', FQDN, { routes: [{ services: [svc] }] }),
      ...limits({
        'projectcontour.io/max-connections': '0',
        'projectcontour.io/max-pending-requests': 'ten',
        'projectcontour.io/max-requests': '4294967296',
        'projectcontour.io/max-retries': '+3',
        'contour.heptio.com/max-connections': '5',
      }),
    ],
    expect: { p: VALID },
    check: (r) => assert.equal(vhost(r, FQDN)!.routes.length, 1),
  },
  {
    name: 'a TCPProxy to a Service with a circuit-breaker annotation is invalid too',
    objects: [
      proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge' } }, tcpproxy: { services: [svc] } }),
      tlsSecret('edge', pair),
      ...limits({ 'projectcontour.io/max-requests': '5' }),
    ],
    expect: { p: { ...invalidSame(limitsErr('projectcontour.io/max-requests')), fqdn: FQDN } },
    check: (r) => assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []),
  },
  {
    name: 'an orphan with a rate limit is only orphaned (it is never processed)',
    objects: [root('p', FQDN, { routes: [{ services: [svc] }] }), proxy('o', { routes: [{ services: [svc], rateLimitPolicy: {} } as never] }), ...base],
    expect: { p: VALID, o: ORPHANED },
  },
];

for (const row of rows) {
  test(`fail closed: ${row.name}`, () => {
    const r = run(row.objects, row.config);
    assertStatuses(r, row.expect);
    row.check?.(r);
  });
}
