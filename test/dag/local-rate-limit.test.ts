// Local rate limits (rateLimitPolicy.local) through the whole build: every
// status Contour's localRateLimitPolicy writes, on the virtual host and on
// routes, and what a valid policy becomes in the proxy's config (global
// limits: global-rate-limit.test.ts).
import assert from 'node:assert/strict';
import { createCa } from '../support/pki.ts';
import type { LocalRateLimitConfig } from '../../src/dag/index.ts';
import { endpoints, invalidSame, proxy, root, runRows, service, tlsSecret, VALID, vhost, type Err, type Row } from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const pair = await (await createCa('local rate limit CA')).issue({ dnsNames: [FQDN] });
const noHttp = (r: Parameters<NonNullable<Row['check']>>[0]) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);
const HEADER_MSG = "[a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]";

const withVhost = (rateLimitPolicy: unknown, rest: Record<string, unknown> = { routes: [{ services: [svc] }] }, extra: Record<string, unknown> = {}) =>
  proxy('p', { virtualhost: { fqdn: FQDN, rateLimitPolicy, ...extra }, ...rest } as never);
const withRoute = (rateLimitPolicy: unknown) =>
  root('p', FQDN, { routes: [{ services: [svc] }, { conditions: [{ prefix: '/x' }], services: [svc], rateLimitPolicy } as never] });
const vhostErr = (e: string): Err => ['VirtualHostError', 'RateLimitPolicyNotValid', `Spec.VirtualHost.RateLimitPolicy is invalid: ${e}`];
const routeErr = (e: string): Err => ['RouteError', 'RateLimitPolicyNotValid', `route.rateLimitPolicy is invalid: ${e}`];
const limit = (o: Partial<LocalRateLimitConfig>): LocalRateLimitConfig => ({
  maxTokens: 10,
  tokensPerFill: 10,
  fillIntervalMs: 1000,
  statusCode: 429,
  responseHeaders: [],
  ...o,
});

const rows: Row[] = [
  {
    name: 'a virtual host limit: max tokens are requests + burst, the unit is the fill interval, 429 by default',
    objects: [withVhost({ local: { requests: 10, unit: 'minute', burst: 5 } }), ...base],
    expect: { p: VALID },
    check: (r) => {
      assert.deepEqual(vhost(r, FQDN)!.localRateLimit, limit({ maxTokens: 15, fillIntervalMs: 60_000 }));
      assert.equal(vhost(r, FQDN)!.routes[0]!.localRateLimit, undefined, 'routes without their own limit carry none');
    },
  },
  {
    name: 'every unit; the status and response headers (canonical names, values as written)',
    objects: [
      withVhost(
        { local: { requests: 3, unit: 'hour', responseStatusCode: 503, responseHeadersToAdd: [{ name: 'x-limited', value: 'yes %100' }, { name: 'retry-after', value: '3600' }] } },
        { routes: [{ services: [svc] }, { conditions: [{ prefix: '/s' }], services: [svc], rateLimitPolicy: { local: { requests: 2, unit: 'second' } } }] },
      ),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const v = vhost(r, FQDN)!;
      assert.deepEqual(
        v.localRateLimit,
        limit({ maxTokens: 3, tokensPerFill: 3, fillIntervalMs: 3_600_000, statusCode: 503, responseHeaders: [{ name: 'X-Limited', value: 'yes %100' }, { name: 'Retry-After', value: '3600' }] }),
      );
      const s = v.routes.find((x) => x.path.value === '/s')!;
      assert.deepEqual(s.localRateLimit, limit({ maxTokens: 2, tokensPerFill: 2 }), "a route's own limit replaces the virtual host's");
    },
  },
  {
    name: 'a TLS virtual host: both listeners carry the limit',
    objects: [withVhost({ local: { requests: 10, unit: 'second' } }, undefined, { tls: { secretName: 'edge' } }), tlsSecret('edge', pair), ...base],
    expect: { p: VALID },
    check: (r) => {
      assert.deepEqual(vhost(r, FQDN, true)!.localRateLimit, limit({}));
      assert.deepEqual(vhost(r, FQDN)!.localRateLimit, limit({}));
    },
  },
  {
    name: 'a route limit in an included proxy',
    objects: [
      root('p', FQDN, { routes: [{ services: [svc] }], includes: [{ name: 'c', conditions: [{ prefix: '/c' }] }] }),
      proxy('c', { routes: [{ services: [svc], rateLimitPolicy: { local: { requests: 1, unit: 'second', burst: 1 } } }] as never }),
      ...base,
    ],
    expect: { p: VALID, c: VALID },
    check: (r) => assert.deepEqual(vhost(r, FQDN)!.routes.find((x) => x.path.value === '/c')!.localRateLimit, limit({ maxTokens: 2, tokensPerFill: 1 })),
  },
  {
    name: 'an empty rateLimitPolicy limits nothing',
    objects: [withVhost({}), ...base],
    expect: { p: VALID },
    check: (r) => assert.equal(vhost(r, FQDN)!.localRateLimit, undefined),
  },
  // ---- Contour's errors, virtual host
  { name: 'vhost: zero requests', objects: [withVhost({ local: { requests: 0, unit: 'second' } }), ...base], expect: { p: invalidSame(vhostErr('invalid requests value 0 in local rate limit policy')) }, check: noHttp },
  { name: 'vhost: unknown unit', objects: [withVhost({ local: { requests: 1, unit: 'day' } }), ...base], expect: { p: invalidSame(vhostErr('invalid unit "day" in local rate limit policy')) }, check: noHttp },
  { name: 'vhost: missing unit', objects: [withVhost({ local: { requests: 1 } }), ...base], expect: { p: invalidSame(vhostErr('invalid unit "" in local rate limit policy')) }, check: noHttp },
  {
    name: 'vhost: a header added twice (names compared canonically)',
    objects: [withVhost({ local: { requests: 1, unit: 'second', responseHeadersToAdd: [{ name: 'x-a', value: '1' }, { name: 'X-A', value: '2' }] } }), ...base],
    expect: { p: invalidSame(vhostErr('duplicate header addition: "X-A"')) },
    check: noHttp,
  },
  {
    name: 'vhost: an invalid header name',
    objects: [withVhost({ local: { requests: 1, unit: 'second', responseHeadersToAdd: [{ name: 'x_a', value: '1' }] } }), ...base],
    expect: { p: invalidSame(vhostErr(`invalid header name "X_a": ${HEADER_MSG}`)) },
    check: noHttp,
  },
  // ---- Contour's errors, routes
  {
    name: 'route: zero requests drops every route of the proxy',
    objects: [withRoute({ local: { requests: 0, unit: 'minute' } }), ...base],
    expect: { p: invalidSame(routeErr('invalid requests value 0 in local rate limit policy')) },
    check: noHttp,
  },
  { name: 'route: unknown unit', objects: [withRoute({ local: { requests: 5, unit: 'week' } }), ...base], expect: { p: invalidSame(routeErr('invalid unit "week" in local rate limit policy')) }, check: noHttp },
  {
    name: 'route: a header added twice',
    objects: [withRoute({ local: { requests: 5, unit: 'second', responseHeadersToAdd: [{ name: 'retry-after', value: '1' }, { name: 'Retry-After', value: '1' }] } }), ...base],
    expect: { p: invalidSame(routeErr('duplicate header addition: "Retry-After"')) },
    check: noHttp,
  },
  {
    name: 'route: an invalid header name',
    objects: [withRoute({ local: { requests: 5, unit: 'second', responseHeadersToAdd: [{ name: 'bad header', value: '1' }] } }), ...base],
    expect: { p: invalidSame(routeErr(`invalid header name "bad header": ${HEADER_MSG}`)) },
    check: noHttp,
  },
  {
    name: 'a limit on a TCPProxy virtual host: refused (it would never apply)',
    objects: [
      proxy('p', { virtualhost: { fqdn: FQDN, tls: { secretName: 'edge' }, rateLimitPolicy: { local: { requests: 1, unit: 'second' } } }, tcpproxy: { services: [svc] } } as never),
      tlsSecret('edge', pair),
      ...base,
    ],
    expect: {
      p: {
        ...invalidSame([
          'SpecError',
          'NotSupported',
          'Spec.VirtualHost.rateLimitPolicy is not supported by isobar on a virtual host with Spec.TCPProxy: the limit applies to HTTP requests only',
        ]),
        fqdn: FQDN,
      },
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpsVirtualHosts, []),
  },
];

runRows(rows, 'local rate limit: ');
