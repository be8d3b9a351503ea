// HTTPRoute attachment and route status (parents[] with Accepted and
// ResolvedRefs, the spec's reasons), and what accepted routes become in the
// proxy's config: matches, filters, backends, timeouts, precedence.
// Conformance scenarios: HTTPRouteCrossNamespace, HTTPRouteExactPathMatching,
// HTTPRouteHeaderMatching, HTTPRouteHostnameIntersection,
// HTTPRouteInvalidBackendRefUnknownKind, HTTPRouteInvalidCrossNamespaceBackendRef,
// HTTPRouteInvalidCrossNamespaceParentRef, HTTPRouteInvalidNonExistentBackendRef,
// HTTPRouteInvalidParentRefNotMatchingListenerPort,
// HTTPRouteInvalidParentRefNotMatchingSectionName, HTTPRouteInvalidReferenceGrant,
// HTTPRouteListenerHostnameMatching, HTTPRouteMatching, HTTPRouteMatchingAcrossRoutes,
// HTTPRouteMethodMatching,
// HTTPRoutePartiallyInvalidViaInvalidReferenceGrant, HTTPRoutePathMatchOrder,
// HTTPRouteQueryParamMatching, HTTPRouteReferenceGrant, HTTPRouteRedirectPath,
// HTTPRouteRedirectHostAndStatus, HTTPRouteRedirectScheme,
// HTTPRouteRequestHeaderModifier, HTTPRouteResponseHeaderModifier,
// HTTPRouteRewriteHost, HTTPRouteRewritePath, HTTPRouteRequestMirror,
// HTTPRouteSimpleSameNamespace, HTTPRouteWeight, HTTPRouteTimeoutRequest,
// HTTPRouteTimeoutBackendRequest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, type DagResult, type Route, type RouteAction } from '../../src/dag/index.ts';
import { config, endpoints, service, vhost } from './fixtures.ts';
import {
  GROUP,
  OK_LISTENER,
  ROUTE_OK,
  gateway,
  gatewayClass,
  gwSnapshot,
  http,
  httpRoute,
  namespace,
  referenceGrant,
  runGw,
  runGwRows,
  toGw,
  type GwRow,
} from './gateway-fixtures.ts';

const backends = [service('s'), endpoints('s', ['127.0.0.1'], 8080), service('t'), endpoints('t', ['127.0.0.2'], 8080), service('far', [{ port: 80 }], { namespace: 'far' }), endpoints('far', ['127.0.0.3'], 8080, 'far')];
const base = [gatewayClass(), gateway('gw', [http()]), ...backends];
const to = (name: string, extra: Record<string, unknown> = {}) => ({ name, port: 80, ...extra });
const simple = (name: string, spec: Record<string, unknown> = {}, opts: { namespace?: string; creation?: string } = {}) =>
  httpRoute(name, { parentRefs: [toGw()], rules: [{ backendRefs: [to('s')] }], ...spec } as never, opts);

const routesOf = (r: DagResult, fqdn: string): Route[] => {
  const v = vhost(r, fqdn);
  assert.ok(v, `virtual host ${fqdn}`);
  return v.routes;
};
const paths = (routes: Route[]) => routes.map((x) => `${x.path.kind} ${x.path.value}${x.headers.length ? ` h${x.headers.length}` : ''}${x.queryParams.length ? ` q${x.queryParams.length}` : ''} <- ${x.origin.name}`);
const forward = (a: RouteAction) => {
  assert.equal(a.kind, 'forward');
  return a as Extract<RouteAction, { kind: 'forward' }>;
};

const rows: GwRow[] = [
  {
    name: 'a route without hostnames on a listener without a hostname serves every host ("*")',
    objects: [...base, simple('r')],
    expect: { routes: { 'default/r': [`infra/gw: ${ROUTE_OK}`] }, listeners: { 'infra/gw/http': OK_LISTENER(1) } },
    check: (r) => assert.deepEqual(paths(routesOf(r, '*')), ['prefix / <- r']),
  },
  {
    name: 'sectionName picks the listener; a name no listener has: NoMatchingParent',
    objects: [gatewayClass(), gateway('gw', [http('a', { hostname: 'a.example.com' }), http('b', { hostname: 'b.example.com' })]), ...backends, simple('r', { parentRefs: [toGw({ sectionName: 'b' })] }), simple('x', { parentRefs: [toGw({ sectionName: 'c' })] })],
    expect: {
      routes: { 'default/r': [`infra/gw/b: ${ROUTE_OK}`], 'default/x': ['infra/gw/c: Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs'] },
      listeners: { 'infra/gw/a': OK_LISTENER(0), 'infra/gw/b': OK_LISTENER(1) },
    },
    check: (r) => {
      assert.equal(vhost(r, 'a.example.com'), undefined);
      assert.ok(vhost(r, 'b.example.com'));
    },
  },
  {
    name: 'a parentRef port no listener has: NoMatchingParent; the listener port: accepted',
    objects: [...base, simple('r', { parentRefs: [toGw({ port: 80 })] }), simple('x', { parentRefs: [toGw({ port: 81 })] })],
    expect: { routes: { 'default/r': [`infra/gw: ${ROUTE_OK}`], 'default/x': ['infra/gw: Accepted=False/NoMatchingParent ResolvedRefs=True/ResolvedRefs'] } },
    check: (r) => assert.equal(r.gatewayApi!.httproutes.find((x) => x.name === 'r')!.parents[0]!.parentRef.port, 80),
  },
  {
    name: 'allowedRoutes Same (the default): a route of another namespace is NotAllowedByListeners',
    objects: [gatewayClass(), gateway('gw', [{ name: 'http', port: 80, protocol: 'HTTP' }]), ...backends, simple('r', {}, { namespace: 'infra' }), simple('x')],
    expect: {
      routes: { 'infra/r': ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'], 'default/x': ['infra/gw: Accepted=False/NotAllowedByListeners ResolvedRefs=True/ResolvedRefs'] },
      listeners: { 'infra/gw/http': OK_LISTENER(1) },
    },
  },
  {
    name: 'allowedRoutes Selector matches namespace labels (and kubernetes.io/metadata.name)',
    objects: [
      gatewayClass(),
      gateway('gw', [
        http('labels', { hostname: 'l.example.com', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'a' } } } } }),
        http('expr', { hostname: 'e.example.com', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['default'] }] } } } }),
      ]),
      namespace('default', { team: 'b' }),
      namespace('teama', { team: 'a' }),
      ...backends,
      simple('r'),
      simple('q', {}, { namespace: 'teama' }),
    ],
    expect: {
      routes: { 'default/r': [`infra/gw: ${ROUTE_OK}`], 'teama/q': ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'] },
      listeners: { 'infra/gw/labels': OK_LISTENER(1), 'infra/gw/expr': OK_LISTENER(1) },
    },
    check: (r) => {
      assert.deepEqual(paths(routesOf(r, 'e.example.com')), ['prefix / <- r']);
      assert.deepEqual(paths(routesOf(r, 'l.example.com')), ['prefix / <- q']);
    },
  },
  {
    name: 'hostname intersection: a wildcard listener takes names under it; a route name outside: NoMatchingListenerHostname',
    objects: [
      gatewayClass(),
      gateway('gw', [http('w', { hostname: '*.example.com' })]),
      ...backends,
      simple('r', { hostnames: ['a.example.com', 'other.org', '*.example.com', '*.b.example.com'] }),
      simple('x', { hostnames: ['example.com', 'a.example.org'] }),
    ],
    expect: { routes: { 'default/r': [`infra/gw: ${ROUTE_OK}`], 'default/x': ['infra/gw: Accepted=False/NoMatchingListenerHostname ResolvedRefs=True/ResolvedRefs'] } },
    check: (r) => {
      assert.deepEqual(r.proxyConfig.httpVirtualHosts.map((v) => v.fqdn), ['*.b.example.com', '*.example.com', 'a.example.com']);
      // Gateway API wildcards cover any number of labels (the proxy's lookup honours it).
      assert.deepEqual(r.proxyConfig.httpVirtualHosts.map((v) => v.wildcardAnyDepth ?? false), [true, true, false]);
    },
  },
  {
    name: 'a parentRef to a Gateway isobar does not serve, or of another kind, gets no parent status',
    objects: [...base, gateway('theirs', [http()], { className: 'other' }), simple('r', { parentRefs: [{ name: 'theirs', namespace: 'infra' }, { group: 'example.com', kind: 'Mesh', name: 'm' }, toGw()] }), simple('none', { parentRefs: [{ name: 'nothing' }] })],
    expect: { routes: { 'default/r': [`infra/gw: ${ROUTE_OK}`] } },
  },
  {
    name: 'backendRefs: another kind is InvalidKind, its share answers 500',
    objects: [...base, simple('r', { rules: [{ backendRefs: [to('s'), { group: 'example.com', kind: 'Bucket', name: 'b' }] }] })],
    expect: { routes: { 'default/r': ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/InvalidKind'] } },
    check: (r) => {
      const f = forward(routesOf(r, '*')[0]!.action);
      assert.deepEqual(
        f.clusters.map((c) => [c.weight, c.directStatus ?? c.cluster.split('/').slice(0, 3).join('/')]),
        [
          [1, 'default/s/80'],
          [1, 500],
        ],
      );
    },
  },
  {
    name: 'backendRefs: a missing Service, or a port it does not have, is BackendNotFound; all unresolved answers 500',
    objects: [...base, simple('r', { rules: [{ backendRefs: [to('missing')] }] }), simple('p', { hostnames: ['p.example.com'], rules: [{ backendRefs: [to('s', { port: 81 })] }] })],
    expect: { routes: { 'default/r': ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'], 'default/p': ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/BackendNotFound'] } },
    check: (r) => assert.deepEqual(forward(routesOf(r, '*')[0]!.action).clusters.map((c) => c.directStatus), [500]),
  },
  {
    name: 'a Service in another namespace needs a ReferenceGrant from HTTPRoutes of the route\'s namespace',
    objects: [
      ...base,
      simple('no', { hostnames: ['no.example.com'], rules: [{ backendRefs: [to('far', { namespace: 'far' })] }] }),
      simple('yes', { hostnames: ['yes.example.com'], rules: [{ backendRefs: [to('far', { namespace: 'far' })] }] }, { namespace: 'granted' }),
      referenceGrant('g', 'far', [{ group: GROUP, kind: 'HTTPRoute', namespace: 'granted' }], [{ group: '', kind: 'Service' }]),
      referenceGrant('wrong', 'far', [{ group: GROUP, kind: 'Gateway', namespace: 'default' }], [{ group: '', kind: 'Service' }]),
    ],
    expect: { routes: { 'default/no': ['infra/gw: Accepted=True/Accepted ResolvedRefs=False/RefNotPermitted'], 'granted/yes': [`infra/gw: ${ROUTE_OK}`] } },
    check: (r) => assert.match(forward(routesOf(r, 'yes.example.com')[0]!.action).clusters[0]!.cluster, /^far\/far\/80\//),
  },
  {
    name: 'a rule without backendRefs answers 500',
    objects: [...base, httpRoute('r', { parentRefs: [toGw()], rules: [{}] })],
    expect: { routes: { 'default/r': [`infra/gw: ${ROUTE_OK}`] } },
    check: (r) => assert.deepEqual(routesOf(r, '*')[0]!.action, { kind: 'direct', statusCode: 500 }),
  },
  {
    name: 'unsupported filters (ExtensionRef, ExternalAuth) and sessionPersistence: Accepted False UnsupportedValue, not served',
    objects: [
      ...base,
      simple('ext', { hostnames: ['ext.example.com'], rules: [{ filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x', kind: 'Y', name: 'z' } }], backendRefs: [to('s')] }] }),
      simple('auth', { hostnames: ['auth.example.com'], rules: [{ filters: [{ type: 'ExternalAuth', externalAuth: {} }], backendRefs: [to('s')] }] }),
      simple('sticky', { hostnames: ['sticky.example.com'], rules: [{ sessionPersistence: {}, backendRefs: [to('s')] }] }),
    ],
    expect: {
      routes: {
        'default/ext': ['infra/gw: Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs'],
        'default/auth': ['infra/gw: Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs'],
        'default/sticky': ['infra/gw: Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs'],
      },
      listeners: { 'infra/gw/http': OK_LISTENER(0) },
    },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []),
  },
  {
    name: 'RequestRedirect with URLRewrite: IncompatibleFilters',
    objects: [...base, simple('r', { rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }, { type: 'URLRewrite', urlRewrite: { hostname: 'x' } }] }] })],
    expect: { routes: { 'default/r': ['infra/gw: Accepted=False/IncompatibleFilters ResolvedRefs=True/ResolvedRefs'] } },
  },
  {
    name: 'ReplacePrefixMatch on an Exact match: UnsupportedValue',
    objects: [...base, simple('r', { rules: [{ matches: [{ path: { type: 'Exact', value: '/a' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } }], backendRefs: [to('s')] }] })],
    expect: { routes: { 'default/r': ['infra/gw: Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs'] } },
  },
  {
    name: 'an invalid regular expression: UnsupportedValue',
    objects: [...base, simple('r', { rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(a' } }], backendRefs: [to('s')] }] })],
    expect: { routes: { 'default/r': ['infra/gw: Accepted=False/UnsupportedValue ResolvedRefs=True/ResolvedRefs'] } },
  },
];

runGwRows(rows);

test('matches: Exact, PathPrefix as whole segments, RegularExpression, headers (first of a name wins), query parameters, method', () => {
  const r = runGw([
    ...base,
    simple('r', {
      rules: [
        {
          matches: [
            { path: { type: 'Exact', value: '/exact' } },
            { path: { type: 'PathPrefix', value: '/pre/' } },
            { path: { type: 'RegularExpression', value: '/re/[0-9]+' } },
            { headers: [{ name: 'Version', value: 'two' }, { name: 'version', value: 'ignored' }, { type: 'RegularExpression', name: 'X-Id', value: '[a-f]+' }] },
            { queryParams: [{ name: 'animal', value: 'whale' }] },
            { method: 'POST' },
          ],
          backendRefs: [to('s')],
        },
      ],
    }),
  ]);
  const routes = routesOf(r, '*');
  assert.deepEqual(paths(routes), ['exact /exact <- r', 'exact /pre <- r', 'prefix /pre/ <- r', 'prefix / h1 <- r', 'prefix / h2 <- r', 'prefix / q1 <- r', 'regex /re/[0-9]+ <- r']);
  assert.deepEqual(routes[3]!.headers, [{ name: ':method', kind: 'exact', value: 'POST' }]);
  assert.deepEqual(routes[4]!.headers, [
    { name: 'version', kind: 'exact', value: 'two' },
    { name: 'x-id', kind: 'regex', value: '[a-f]+' },
  ]);
  assert.deepEqual(routes[5]!.queryParams, [{ name: 'animal', kind: 'exact', value: 'whale' }]);
});

test('precedence across routes: Exact, longest prefix, method, most headers, most query parameters, then the oldest route, then namespace/name', () => {
  const r = runGw([
    ...base,
    simple('young', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/same' } }], backendRefs: [to('t')] }] }, { creation: '2024-02-01T00:00:00Z' }),
    simple('old', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/same' } }], backendRefs: [to('s')] }] }, { creation: '2024-01-01T00:00:00Z' }),
    simple('b', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ name: 'a', value: '1' }] }, { path: { type: 'PathPrefix', value: '/' }, queryParams: [{ name: 'q', value: '1' }] }], backendRefs: [to('s')] }] }),
    simple('a', { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' }, method: 'GET', headers: [] }, { path: { type: 'PathPrefix', value: '/long/er' } }, { path: { type: 'Exact', value: '/same' } }], backendRefs: [to('s')] }] }),
  ]);
  assert.deepEqual(paths(routesOf(r, '*')), [
    'exact /same <- a',
    'exact /long/er <- a',
    'prefix /long/er/ <- a',
    'prefix /same/ <- old',
    'prefix / h1 <- a',
    'prefix / h1 <- b',
    'prefix / q1 <- b',
  ]);
  // The older route wins the equal PathPrefix /same: its /same/ half is kept, the younger's dropped.
  assert.ok(routesOf(r, '*').every((x) => x.origin.name !== 'young'));
});

test('filters: header modifiers (set, add, remove), redirect, URL rewrite, mirror, per-backend headers, weights, timeouts', () => {
  const r = runGw([
    ...base,
    simple('mods', {
      hostnames: ['mods.example.com'],
      rules: [
        {
          filters: [
            { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Set', value: 'a' }], add: [{ name: 'X-Add', value: 'b' }], remove: ['X-Gone'] } },
            { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'X-Resp', value: 'c' }] } },
            { type: 'RequestMirror', requestMirror: { backendRef: to('t'), percent: 25 } },
            { type: 'RequestMirror', requestMirror: { backendRef: to('s'), fraction: { numerator: 1, denominator: 2 } } },
          ],
          backendRefs: [to('s', { weight: 3, filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Backend', value: 's' }] } }] }), to('t', { weight: 1 })],
          timeouts: { request: '10s', backendRequest: '2s' },
        },
      ],
    }),
    simple('redir', {
      hostnames: ['redir.example.com'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/old' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' }, statusCode: 301 } }] },
        { matches: [{ path: { type: 'Exact', value: '/s' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'secure.example.com' } }] },
      ],
    }),
    simple('rw', {
      hostnames: ['rw.example.com'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/p' } }], filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'inner.example.com', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }], backendRefs: [to('s')] },
        { matches: [{ path: { type: 'Exact', value: '/full' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/whole' } } }], backendRefs: [to('s')], timeouts: { request: '0s' } },
      ],
    }),
  ]);
  const m = routesOf(r, 'mods.example.com')[0]!;
  assert.deepEqual(m.requestHeaders, { set: [{ name: 'X-Set', value: 'a' }], add: [{ name: 'X-Add', value: 'b' }], remove: ['X-Gone'] });
  assert.deepEqual(m.responseHeaders, { set: [], add: [{ name: 'X-Resp', value: 'c' }], remove: [] });
  // No route-level idle timeout in the Gateway API: Envoy's connection-manager default (5 min) covers it.
  assert.deepEqual(m.timeouts, { responseMs: 2000, idleMs: 300_000 });
  const f = forward(m.action);
  assert.deepEqual(
    f.clusters.map((c) => [c.cluster.split('/')[1], c.weight, c.requestHeaders.set.map((h) => h.name)]),
    [
      ['s', 3, ['X-Backend']],
      ['t', 1, []],
    ],
  );
  // Several mirror filters: a copy to each (HTTPRouteRequestMultipleMirrors).
  assert.deepEqual(f.mirrors!.map((x) => [x.cluster.split('/')[1], x.percent]), [['t', 25], ['s', 50]]);
  assert.match(f.mirrors![0]!.cluster, /^default\/t\/80\//);

  const red = routesOf(r, 'redir.example.com');
  assert.deepEqual(
    red.map((x) => [x.path.kind, x.path.value, x.action]),
    [
      ['exact', '/s', { kind: 'redirect', statusCode: 302, scheme: 'https', hostname: 'secure.example.com', port: 443 }],
      // Neither scheme nor port: the Gateway listener's port (HTTPRouteRedirectPortAndScheme).
      ['exact', '/old', { kind: 'redirect', statusCode: 301, path: '/new', port: 80 }],
      ['prefix', '/old/', { kind: 'redirect', statusCode: 301, prefix: '/new/', port: 80 }],
    ],
  );
  const rw = routesOf(r, 'rw.example.com');
  assert.deepEqual(
    rw.map((x) => [x.path.value, x.hostRewrite, x.pathRewrite, x.prefixRewrite, x.timeouts.responseMs]),
    [
      ['/full', undefined, '/whole', undefined, null],
      ['/p', { literal: 'inner.example.com' }, '/', undefined, 15000],
      ['/p/', { literal: 'inner.example.com' }, undefined, '/', 15000],
    ],
  );
});

test("the config file's timeouts.stream-idle-timeout is every HTTPRoute's stream idle timeout, as Envoy's connection-manager setting", () => {
  const cases: [string, number | null | undefined, number | null][] = [
    ['unset: Envoy default', undefined, 300_000],
    ['set', 7_000, 7_000],
    ['disabled ("infinity")', null, null],
  ];
  for (const [what, value, want] of cases) {
    const cfg = config((c) => {
      if (value !== undefined) c.timeouts = { ...c.timeouts, streamIdleTimeoutMs: value };
    });
    const r = build(gwSnapshot([...base, simple('r', { hostnames: ['idle.example.com'] })]), cfg);
    assert.deepEqual(routesOf(r, 'idle.example.com').map((x) => x.timeouts.idleMs), [want], what);
  }
});

test('an HTTPProxy and an HTTPRoute naming the same host: one virtual host, the HTTPProxy\'s routes first', async () => {
  const { proxy } = await import('./fixtures.ts');
  const r = runGw([...base, proxy('p', { virtualhost: { fqdn: 'both.example.com' }, routes: [{ conditions: [{ prefix: '/hp' }], services: [{ name: 's', port: 80 }] }] }), simple('r', { hostnames: ['both.example.com'] })]);
  assert.deepEqual(paths(routesOf(r, 'both.example.com')), ['prefix /hp <- p', 'prefix / <- r']);
  assert.equal(r.statuses[0]!.currentStatus, 'valid');
});
