// Route policies through the whole build: cookieRewritePolicies on routes
// and services (Contour's checks and messages, the route's rules merged
// under the service's) and internalRedirectPolicy (Envoy's defaults for
// what is unset); neither is a warning any more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HTTPProxy } from '../../src/objects/types.ts';
import type { WeightedCluster } from '../../src/dag/index.ts';
import { assertStatuses, endpoints, invalid, invalidSame, root, run, service, VALID, vhost, type Row } from './fixtures.ts';

const FQDN = 'a.example.com';
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80), service('t'), endpoints('t', ['10.0.0.2'], 80)];
type Route = NonNullable<HTTPProxy['spec']['routes']>[number];
type Service = NonNullable<Route['services']>[number];
const withRoute = (route: Partial<Route>, services: Service[] = [{ name: 's', port: 80 }]): HTTPProxy => root('p', FQDN, { routes: [{ services, ...route }] });
const clusters = (r: ReturnType<typeof run>): WeightedCluster[] => {
  const a = vhost(r, FQDN)!.routes[0]!.action;
  assert.equal(a.kind, 'forward');
  return a.kind === 'forward' ? a.clusters : [];
};
const noHttp = (r: ReturnType<typeof run>) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);

const rows: Row[] = [
  {
    name: 'cookie rewrites: the route rules every service; a service rule for the same cookie wins attribute by attribute',
    objects: [
      withRoute(
        {
          cookieRewritePolicies: [
            { name: 'session', pathRewrite: { value: '/app' }, secure: true },
            { name: 'lang', sameSite: 'Lax' },
          ],
        },
        [
          { name: 's', port: 80, cookieRewritePolicies: [{ name: 'session', domainRewrite: { value: 'example.com' }, secure: false }] },
          { name: 't', port: 80 },
        ],
      ),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const [s, t] = clusters(r);
      assert.deepEqual(s!.cookieRewrites, [
        { name: 'session', path: '/app', secure: false, domain: 'example.com' },
        { name: 'lang', sameSite: 'Lax' },
      ]);
      assert.deepEqual(t!.cookieRewrites, [
        { name: 'session', path: '/app', secure: true },
        { name: 'lang', sameSite: 'Lax' },
      ]);
    },
  },
  {
    name: 'cookie rewrites: only on a service; none leaves the cluster without rules',
    objects: [withRoute({}, [{ name: 's', port: 80, cookieRewritePolicies: [{ name: 'a', sameSite: 'Strict' }] }, { name: 't', port: 80, cookieRewritePolicies: [] }]), ...base],
    expect: { p: VALID },
    check: (r) => {
      const [s, t] = clusters(r);
      assert.deepEqual(s!.cookieRewrites, [{ name: 'a', sameSite: 'Strict' }]);
      assert.equal(t!.cookieRewrites, undefined);
    },
  },
  {
    name: 'cookie rewrites: a duplicate name on a route',
    objects: [withRoute({ cookieRewritePolicies: [{ name: 'a', secure: true }, { name: 'a', sameSite: 'None' }] }), ...base],
    expect: { p: invalidSame(['RouteError', 'CookieRewritePoliciesInvalid', 'duplicate cookie rewrite rule for cookie "a" on route cookie rewrite rules']) },
    check: noHttp,
  },
  {
    name: 'cookie rewrites: a rule on a route that rewrites nothing',
    objects: [withRoute({ cookieRewritePolicies: [{ name: 'a', secure: true }, { name: 'b' }] }), ...base],
    expect: { p: invalidSame(['RouteError', 'CookieRewritePoliciesInvalid', 'no attributes rewritten for cookie "b" on route cookie rewrite rules']) },
    check: noHttp,
  },
  {
    name: 'cookie rewrites: secure: false is an attribute rewritten',
    objects: [withRoute({ cookieRewritePolicies: [{ name: 'a', secure: false }] }), ...base],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(clusters(r)[0]!.cookieRewrites, [{ name: 'a', secure: false }]),
  },
  {
    name: 'cookie rewrites: a duplicate name on a service (a RouteError, as Contour files it)',
    objects: [withRoute({}, [{ name: 's', port: 80, cookieRewritePolicies: [{ name: 'x', pathRewrite: { value: '/' } }, { name: 'x', secure: true }] }]), ...base],
    expect: {
      p: invalid('route "/": service "s": duplicate cookie rewrite rule for cookie "x" on service cookie rewrite rules', [
        'RouteError',
        'CookieRewritePoliciesInvalid',
        'duplicate cookie rewrite rule for cookie "x" on service cookie rewrite rules',
      ]),
    },
    check: noHttp,
  },
  {
    name: 'cookie rewrites: a rule on a service that rewrites nothing',
    objects: [withRoute({}, [{ name: 's', port: 80, cookieRewritePolicies: [{ name: 'y' }] }]), ...base],
    expect: {
      p: invalid('route "/": service "s": no attributes rewritten for cookie "y" on service cookie rewrite rules', [
        'RouteError',
        'CookieRewritePoliciesInvalid',
        'no attributes rewritten for cookie "y" on service cookie rewrite rules',
      ]),
    },
    check: noHttp,
  },
  {
    name: 'cookie rewrites: the route is checked before its services',
    objects: [withRoute({ cookieRewritePolicies: [{ name: 'r' }] }, [{ name: 's', port: 80, cookieRewritePolicies: [{ name: 'y' }] }]), ...base],
    expect: { p: invalidSame(['RouteError', 'CookieRewritePoliciesInvalid', 'no attributes rewritten for cookie "r" on route cookie rewrite rules']) },
    check: noHttp,
  },
  {
    name: 'internal redirects: an empty policy takes Envoy\'s defaults (one redirect, 302, same scheme)',
    objects: [withRoute({ internalRedirectPolicy: {} }), ...base],
    expect: { p: VALID },
    check: (r) =>
      assert.deepEqual(vhost(r, FQDN)!.routes[0]!.internalRedirect, { maxInternalRedirects: 1, redirectResponseCodes: [302], allowCrossScheme: 'Never', denyRepeatedRouteRedirect: false }),
  },
  {
    name: 'internal redirects: every field',
    objects: [
      withRoute({ internalRedirectPolicy: { maxInternalRedirects: 3, redirectResponseCodes: [308, 301, 301], allowCrossSchemeRedirect: 'SafeOnly', denyRepeatedRouteRedirect: true } }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) =>
      assert.deepEqual(vhost(r, FQDN)!.routes[0]!.internalRedirect, { maxInternalRedirects: 3, redirectResponseCodes: [301, 308], allowCrossScheme: 'SafeOnly', denyRepeatedRouteRedirect: true }),
  },
  {
    name: 'internal redirects: Always; a route without the policy follows nothing',
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/a' }], services: [{ name: 's', port: 80 }], internalRedirectPolicy: { allowCrossSchemeRedirect: 'Always' } },
          { conditions: [{ prefix: '/b' }], services: [{ name: 's', port: 80 }] },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const routes = vhost(r, FQDN)!.routes;
      assert.equal(routes.find((x) => x.path.value === '/a')!.internalRedirect!.allowCrossScheme, 'Always');
      assert.equal(routes.find((x) => x.path.value === '/b')!.internalRedirect, undefined);
    },
  },
];

for (const row of rows) {
  test(`route policies: ${row.name}`, () => {
    const r = run(row.objects, row.config);
    assertStatuses(r, row.expect);
    row.check?.(r);
  });
}
