// Global rate limits (rateLimitPolicy.global and the config file's
// rateLimitService) through the whole build: Contour's statuses, the
// descriptors the proxy sends for each entry kind, the default policy and
// opting out of it, a route's own descriptors and global.disabled, and a
// policy without a rate limit service failing closed.
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import type { GlobalRateLimitPolicyConfig, RateLimitServiceConfig } from '../../src/dag/index.ts';
import type { IsobarConfig } from '../../src/config/index.ts';
import { test } from 'node:test';
import { build } from '../../src/dag/index.ts';
import { config, endpoints, snapshot, invalidSame, proxy, root, runRows, service, tlsSecret, VALID, vhost, type Err, type Row } from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const pair = await (await createCa('global rate limit CA')).issue({ dnsNames: [FQDN] });

const withVhost = (rateLimitPolicy: unknown, routes: unknown[] = [{ services: [svc] }]) => proxy('p', { virtualhost: { fqdn: FQDN, rateLimitPolicy }, routes } as never);
const withRoute = (rateLimitPolicy: unknown, vhostPolicy?: unknown) =>
  proxy('p', { virtualhost: { fqdn: FQDN, ...(vhostPolicy ? { rateLimitPolicy: vhostPolicy } : {}) }, routes: [{ services: [svc] }, { conditions: [{ prefix: '/x' }], services: [svc], rateLimitPolicy }] } as never);
const vhostErr = (e: string): Err => ['VirtualHostError', 'RateLimitPolicyNotValid', `Spec.VirtualHost.RateLimitPolicy is invalid: ${e}`];
const routeErr = (e: string): Err => ['RouteError', 'RateLimitPolicyNotValid', `route.rateLimitPolicy is invalid: ${e}`];
const ONE_FIELD = 'rate limit descriptor entry must have exactly one field set';
const NO_SERVICE = "global rate limit descriptors need the config file's rateLimitService.extensionService (isobar does not serve a limit it cannot enforce)";

const withService = (patch: Partial<NonNullable<IsobarConfig['rateLimitService']>> = {}): IsobarConfig =>
  config((c) => {
    c.rateLimitService = { extensionService: { namespace: 'rl', name: 'ratelimit' }, domain: 'contour', failOpen: false, enableXRateLimitHeaders: false, enableResourceExhaustedCode: false, ...patch };
  });
const SERVICE: RateLimitServiceConfig = { extensionCluster: 'extension/rl/ratelimit', domain: 'contour', failOpen: false, enableXRateLimitHeaders: false, enableResourceExhaustedCode: false, timeoutMs: 20 };
const policy = (descriptors: GlobalRateLimitPolicyConfig['descriptors'], service = SERVICE): GlobalRateLimitPolicyConfig => ({ service, descriptors });
const generic = (value: string, key = '') => ({ entries: [{ genericKey: { key, value } }] });

const rows: Row[] = [
  {
    name: 'every entry kind on the virtual host, in order; the service as the config file names it',
    objects: [
      withVhost({
        global: {
          descriptors: [
            {
              entries: [
                { genericKey: { value: 'all' } },
                { genericKey: { key: 'vhost', value: FQDN } },
                { requestHeader: { headerName: 'X-Tenant', descriptorKey: 'tenant' } },
                { requestHeaderValueMatch: { headers: [{ name: 'X-Plan', exact: 'free' }], value: 'free-plan' } },
                { requestHeaderValueMatch: { headers: [{ name: 'X-Bot', present: true }], expectMatch: false, value: 'human' } },
                { remoteAddress: {} },
              ],
            },
          ],
        },
      }),
      ...base,
    ],
    config: withService({ domain: 'edge', failOpen: true, enableXRateLimitHeaders: true, enableResourceExhaustedCode: true }),
    expect: { p: VALID },
    check: (r) => {
      assert.deepEqual(
        vhost(r, FQDN)!.globalRateLimit,
        policy(
          [
            {
              entries: [
                { kind: 'genericKey', key: '', value: 'all' },
                { kind: 'genericKey', key: 'vhost', value: FQDN },
                { kind: 'requestHeader', headerName: 'x-tenant', descriptorKey: 'tenant' },
                { kind: 'requestHeaderValueMatch', headers: [{ name: 'x-plan', kind: 'exact', value: 'free' }], expectMatch: true, value: 'free-plan' },
                { kind: 'requestHeaderValueMatch', headers: [{ name: 'x-bot', kind: 'present' }], expectMatch: false, value: 'human' },
                { kind: 'remoteAddress' },
              ],
            },
          ],
          { ...SERVICE, domain: 'edge', failOpen: true, enableXRateLimitHeaders: true, enableResourceExhaustedCode: true },
        ),
      );
      assert.equal(vhost(r, FQDN)!.routes[0]!.globalRateLimit, undefined);
    },
  },
  {
    name: 'a route\'s own descriptors replace the virtual host\'s; global.disabled on a route drops them',
    objects: [
      proxy('p', {
        virtualhost: { fqdn: FQDN, rateLimitPolicy: { global: { descriptors: [generic('vhost')] } } },
        routes: [
          { services: [svc] },
          { conditions: [{ prefix: '/own' }], services: [svc], rateLimitPolicy: { global: { descriptors: [generic('route')] } } },
          { conditions: [{ prefix: '/off' }], services: [svc], rateLimitPolicy: { global: { disabled: true } } },
        ],
      } as never),
      ...base,
    ],
    config: withService(),
    expect: { p: VALID },
    check: (r) => {
      const v = vhost(r, FQDN)!;
      const by = (p: string) => v.routes.find((x) => x.path.value === p)!;
      assert.deepEqual(v.globalRateLimit, policy([{ entries: [{ kind: 'genericKey', key: '', value: 'vhost' }] }]));
      assert.deepEqual(by('/own').globalRateLimit, policy([{ entries: [{ kind: 'genericKey', key: '', value: 'route' }] }]));
      assert.equal(by('/own').ignoreVirtualHostGlobalRateLimit, undefined);
      assert.equal(by('/off').globalRateLimit, undefined);
      assert.equal(by('/off').ignoreVirtualHostGlobalRateLimit, true);
    },
  },
  {
    name: 'defaultGlobalRateLimitPolicy applies to a virtual host without its own, on both listeners',
    objects: [proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge' } }, routes: [{ services: [svc] }] }), tlsSecret('edge', pair), ...base],
    config: withService({ defaultGlobalRateLimitPolicy: { descriptors: [{ entries: [{ remoteAddress: {} }] }] } }),
    expect: { p: { ...VALID, fqdn: FQDN } },
    check: (r) => {
      const want = policy([{ entries: [{ kind: 'remoteAddress' }] }]);
      assert.deepEqual(vhost(r, FQDN)!.globalRateLimit, want);
      assert.deepEqual(vhost(r, FQDN, true)!.globalRateLimit, want);
    },
  },
  {
    name: 'a virtual host\'s own policy wins over the default; global.disabled opts out of it',
    objects: [
      withVhost({ global: { descriptors: [generic('own')] } }),
      proxy('q', { virtualhost: { fqdn: 'b.example.com', rateLimitPolicy: { global: { disabled: true } } }, routes: [{ services: [svc] }] } as never),
      ...base,
    ],
    config: withService({ defaultGlobalRateLimitPolicy: { descriptors: [generic('default')] } }),
    expect: { p: VALID, q: VALID },
    check: (r) => {
      assert.deepEqual(vhost(r, FQDN)!.globalRateLimit, policy([{ entries: [{ kind: 'genericKey', key: '', value: 'own' }] }]));
      assert.equal(vhost(r, 'b.example.com')!.globalRateLimit, undefined);
    },
  },
  ...[[{ genericKey: { value: 'a' }, remoteAddress: {} }], [{}]].map((entries, i) => ({
    name: `an entry with ${i === 0 ? 'two kinds' : 'none'}: Contour's error on the virtual host`,
    objects: [withVhost({ global: { descriptors: [{ entries }] } }), ...base],
    config: withService(),
    expect: { p: invalidSame(vhostErr(ONE_FIELD)) },
  })),
  {
    name: 'two kinds in a route entry: Contour\'s route error',
    objects: [withRoute({ global: { descriptors: [{ entries: [{ genericKey: { value: 'a' }, requestHeader: { headerName: 'a', descriptorKey: 'b' } }] }] } }), ...base],
    config: withService(),
    expect: { p: invalidSame(routeErr(ONE_FIELD)) },
  },
  {
    name: 'an invalid default policy: Contour\'s error on every virtual host it would apply to',
    objects: [withVhost(undefined), ...base],
    config: withService({ defaultGlobalRateLimitPolicy: { descriptors: [{ entries: [{ genericKey: { value: 'a' }, remoteAddress: {} }] }] } }),
    expect: { p: invalidSame(['VirtualHostError', 'RateLimitPolicyNotValid', `Default Global RateLimit Policy is invalid: ${ONE_FIELD}`]) },
  },
  {
    name: 'fail closed: descriptors without a rateLimitService in the config file, on a virtual host',
    objects: [withVhost({ global: { descriptors: [generic('a')] } }), ...base],
    expect: { p: invalidSame(vhostErr(NO_SERVICE)) },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'fail closed: descriptors without a rateLimitService, on a route',
    objects: [withRoute({ global: { descriptors: [generic('a')] } }), ...base],
    expect: { p: invalidSame(routeErr(NO_SERVICE)) },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'no descriptors, or disabled, without a service: nothing to enforce, valid',
    objects: [withRoute({ global: { disabled: true } }, { global: { descriptors: [] } }), ...base],
    expect: { p: VALID },
    check: (r) => assert.equal(vhost(r, FQDN)!.globalRateLimit, undefined),
  },
  {
    name: 'a global limit on a TCPProxy virtual host: refused (it would never apply)',
    objects: [
      proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge' }, rateLimitPolicy: { global: { descriptors: [generic('a')] } } }, tcpproxy: { services: [svc] } } as never),
      tlsSecret('edge', pair),
      ...base,
    ],
    config: withService(),
    expect: {
      p: {
        ...invalidSame(['SpecError', 'NotSupported', 'Spec.VirtualHost.rateLimitPolicy is not supported by isobar on a virtual host with Spec.TCPProxy: the limit applies to HTTP requests only']),
        fqdn: FQDN,
      },
    },
  },
];

runRows(rows, 'global rate limit: ');

test('global rate limit: the ExtensionService timeoutPolicy.response is the call deadline (Envoy\'s 20 ms when unset)', () => {
  const snap = snapshot([withVhost({ global: { descriptors: [generic('a')] } }), ...base, service('ratelimit', [{ port: 8081 }], { namespace: 'rl' }), endpoints('ratelimit', ['10.2.0.1'], 8081, 'rl')]);
  const ext = (timeoutPolicy?: unknown) => ({
    apiVersion: 'projectcontour.io/v1alpha1',
    kind: 'ExtensionService',
    metadata: { name: 'ratelimit', namespace: 'rl' },
    spec: { protocol: 'h2c', services: [{ name: 'ratelimit', port: 8081 }], ...(timeoutPolicy ? { timeoutPolicy } : {}) },
  });
  const timeout = (e: unknown) => vhost(build({ ...snap, extensionServices: [e] } as never, withService()), FQDN)!.globalRateLimit!.service.timeoutMs;
  assert.equal(timeout(ext({ response: '1500ms' })), 1500);
  assert.equal(timeout(ext({ response: 'infinity' })), null);
  assert.equal(timeout(ext()), 20);
});
