// contour-semantics.md section (f): routing essentials, rules 50-62, and
// the route order of a virtual host.
import assert from 'node:assert/strict';
import type { Route } from '../../src/dag/index.ts';
import {
  clusterOf,
  config,
  endpoints,
  firstCluster,
  invalidSame,
  proxy,
  root,
  run,
  service,
  slice,
  vhost,
  VALID,
  type Row,
  runRows,
} from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const only = (r: ReturnType<typeof run>, fqdn = FQDN): Route => {
  const v = vhost(r, fqdn)!;
  assert.equal(v.routes.length, 1);
  return v.routes[0]!;
};
const paths = (r: ReturnType<typeof run>, fqdn = FQDN) => vhost(r, fqdn)!.routes.map((x) => `${x.path.kind}:${x.path.value}`);
const oneRoute = (route: Record<string, unknown>) => root('p', FQDN, { routes: [{ services: [svc], ...route }] });

const rows: Row[] = [
  {
    name: 'rule 50: include chains concatenate path conditions root to leaf',
    objects: [
      root('p', FQDN, { includes: [{ name: 'a', conditions: [{ prefix: '/api' }] }] }),
      proxy('a', { includes: [{ name: 'b', conditions: [{ prefix: '/v1/' }] }] }),
      proxy('b', { routes: [{ conditions: [{ prefix: '/users' }], services: [svc] }, { services: [svc] }] }),
      ...base,
    ],
    expect: { p: VALID, a: VALID, b: VALID },
    check: (r) => assert.deepEqual(paths(r), ['prefix:/api/v1/users', 'prefix:/api/v1/']),
  },
  {
    name: 'rule 50: no path condition is prefix /; a leaf exact makes an exact match; any regex makes a regex',
    objects: [
      root('p', FQDN, { includes: [{ name: 'a', conditions: [{ prefix: '/a' }] }], routes: [{ services: [svc] }] }),
      proxy('a', { routes: [{ conditions: [{ exact: '/b' }], services: [svc] }, { conditions: [{ regex: '/r.*' }], services: [svc] }] }),
      ...base,
    ],
    expect: { p: VALID, a: VALID },
    check: (r) => assert.deepEqual(paths(r), ['exact:/a/b', 'regex:/a/r.*', 'prefix:/']),
  },
  {
    name: 'rule 50: [exact, header] becomes a prefix match (the last element decides)',
    objects: [oneRoute({ conditions: [{ exact: '/a' }, { header: { name: 'x', present: true } }] }), ...base],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(only(r).path, { kind: 'prefix', value: '/a' }),
  },
  {
    name: 'rule 51: every header condition kind, names lower-cased, inherited ones first',
    objects: [
      root('p', FQDN, { includes: [{ name: 'c', conditions: [{ header: { name: 'X-Inherited', present: true } }] }] }),
      proxy('c', {
        routes: [
          {
            conditions: [
              { header: { name: 'A', notpresent: true } },
              { header: { name: 'B', contains: 'c', ignoreCase: true } },
              { header: { name: 'C', notcontains: 'c', treatMissingAsEmpty: true } },
              { header: { name: 'D', exact: 'e', ignoreCase: true } },
              { header: { name: 'E', notexact: 'e' } },
              { header: { name: 'F', regex: '^v[0-9]+$' } },
            ],
            services: [svc],
          },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID, c: VALID },
    check: (r) =>
      assert.deepEqual(only(r).headers, [
        { name: 'x-inherited', kind: 'present' },
        { name: 'a', kind: 'notpresent' },
        { name: 'b', kind: 'contains', value: 'c', ignoreCase: true },
        { name: 'c', kind: 'notcontains', value: 'c', treatMissingAsEmpty: true },
        { name: 'd', kind: 'exact', value: 'e', ignoreCase: true },
        { name: 'e', kind: 'notexact', value: 'e' },
        { name: 'f', kind: 'regex', value: '^v[0-9]+$' },
      ]),
  },
  {
    name: 'rule 52: query parameter conditions map one match each',
    objects: [
      oneRoute({
        conditions: [
          { queryParameter: { name: 'a', exact: '1', ignoreCase: true } },
          { queryParameter: { name: 'b', prefix: 'p' } },
          { queryParameter: { name: 'c', suffix: 's' } },
          { queryParameter: { name: 'd', regex: '^x' } },
          { queryParameter: { name: 'e', contains: 'm' } },
          { queryParameter: { name: 'f', present: true } },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) =>
      assert.deepEqual(only(r).queryParams, [
        { name: 'a', kind: 'exact', value: '1', ignoreCase: true },
        { name: 'b', kind: 'prefix', value: 'p' },
        { name: 'c', kind: 'suffix', value: 's' },
        { name: 'd', kind: 'regex', value: '^x' },
        { name: 'e', kind: 'contains', value: 'm' },
        { name: 'f', kind: 'present' },
      ]),
  },
  {
    name: 'rule 52: two matches in one query condition',
    objects: [oneRoute({ conditions: [{ queryParameter: { name: 'a', exact: '1', prefix: '1' } }] }), ...base],
    expect: { p: invalidSame(['RouteError', 'QueryParameterMatchConditionsNotValid', 'cannot specify more than one condition in the same match condition branch']) },
  },
  {
    name: 'rule 53: a wildcard fqdn is one virtual host "*.example.com" (the proxy host table matches exactly one label)',
    objects: [root('p', '*.Example.com', { routes: [{ services: [svc] }] }), ...base],
    expect: { p: VALID },
    check: (r) => {
      assert.deepEqual(r.proxyConfig.httpVirtualHosts.map((v) => v.fqdn), ['*.example.com']);
      assert.deepEqual(only(r, '*.example.com').headers, [], 'no :authority regex: HTTP/1.1 requests carry Host, not :authority');
    },
  },
  {
    name: 'rule 54: omitted weights split equally',
    objects: [oneRoute({ services: [svc, { name: 't', port: 80 }] }), ...base, service('t')],
    expect: { p: VALID },
    check: (r) => {
      const a = only(r).action;
      assert.equal(a.kind, 'forward');
      assert.deepEqual(a.kind === 'forward' && a.clusters.map((c) => c.weight), [1, 1]);
    },
  },
  {
    name: 'rule 54: weights are relative; zero-weight services get no traffic; mirror defaults to 100%',
    objects: [
      oneRoute({ services: [{ ...svc, weight: 30 }, { name: 't', port: 80, weight: 0 }, { name: 'u', port: 80, weight: 70 }, { name: 'm', port: 80, mirror: true }] }),
      ...base,
      service('t'),
      service('u'),
      service('m'),
    ],
    expect: { p: VALID },
    check: (r) => {
      const a = only(r).action;
      assert.ok(a.kind === 'forward');
      assert.deepEqual(a.clusters.map((c) => [clusterOf(r, c.cluster).service, c.weight]), [['s', 30], ['u', 70]]);
      assert.equal(clusterOf(r, a.mirrors![0]!.cluster).service, 'm');
      assert.equal(a.mirrors![0]!.percent, 100);
    },
  },
  {
    name: 'rule 54: a mirror weight is its percentage',
    objects: [oneRoute({ services: [svc, { name: 'm', port: 80, mirror: true, weight: 25 }] }), ...base, service('m')],
    expect: { p: VALID },
    check: (r) => {
      const a = only(r).action;
      assert.equal(a.kind === 'forward' && a.mirrors![0]!.percent, 25);
    },
  },
  {
    name: 'rule 55: load balancer strategies; unknown means RoundRobin; Cookie; RequestHash policies',
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/rr' }], services: [svc], loadBalancerPolicy: { strategy: 'Fastest' } },
          { conditions: [{ prefix: '/wlr' }], services: [svc], loadBalancerPolicy: { strategy: 'WeightedLeastRequest' } },
          { conditions: [{ prefix: '/rnd' }], services: [svc], loadBalancerPolicy: { strategy: 'Random' } },
          { conditions: [{ prefix: '/ck' }], services: [svc], loadBalancerPolicy: { strategy: 'Cookie' } },
          {
            conditions: [{ prefix: '/rh' }],
            services: [svc],
            loadBalancerPolicy: {
              strategy: 'RequestHash',
              requestHashPolicies: [{ headerHashOptions: { headerName: 'x-user' }, terminal: true }, { queryParameterHashOptions: { parameterName: 'ID' } }, { hashSourceIP: true }],
            },
          },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const lb = (p: string) => {
        const route = vhost(r, FQDN)!.routes.find((x) => x.path.value === p)!;
        return route.action.kind === 'forward' ? clusterOf(r, route.action.clusters[0]!.cluster).loadBalancer : null;
      };
      assert.deepEqual(lb('/rr'), { strategy: 'RoundRobin', hashPolicies: [] });
      assert.deepEqual(lb('/wlr'), { strategy: 'WeightedLeastRequest', hashPolicies: [] });
      assert.deepEqual(lb('/rnd'), { strategy: 'Random', hashPolicies: [] });
      assert.deepEqual(lb('/ck'), { strategy: 'Cookie', hashPolicies: [] });
      assert.deepEqual(lb('/rh'), { strategy: 'RequestHash', hashPolicies: [{ terminal: true, header: 'X-User' }, { queryParameter: 'id' }, { sourceIp: true }] });
      assert.equal(new Set(r.proxyConfig.clusters.map((c) => c.name)).size, 5, 'one cluster per policy');
    },
  },
  {
    name: 'rule 56: timeout defaults, infinity, 0s and the configured connect timeout',
    config: config((c) => {
      c.timeouts.connectTimeoutMs = 750;
    }),
    objects: [
      root('p', FQDN, {
        routes: [
          { services: [svc] },
          { conditions: [{ prefix: '/inf' }], services: [svc], timeoutPolicy: { response: 'infinity', idle: 'infinite', idleConnection: 'infinity' } },
          { conditions: [{ prefix: '/zero' }], services: [svc], timeoutPolicy: { response: '0s', idle: '1m30s', idleConnection: '1.5s' } },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const t = (p: string) => {
        const route = vhost(r, FQDN)!.routes.find((x) => x.path.value === p)!;
        const c = route.action.kind === 'forward' ? clusterOf(r, route.action.clusters[0]!.cluster) : null;
        return [route.timeouts.responseMs, route.timeouts.idleMs, c!.idleConnectionTimeoutMs, c!.connectTimeoutMs];
      };
      assert.deepEqual(t('/'), [15000, 300000, 3600000, 750]);
      assert.deepEqual(t('/inf'), [null, null, null, 750]);
      assert.deepEqual(t('/zero'), [15000, 90000, 1500, 750]);
    },
  },
  {
    name: 'rule 57: retry counts, retryOn default and an unparsable perTryTimeout',
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/a' }], services: [svc], retryPolicy: { count: -1 } },
          { conditions: [{ prefix: '/b' }], services: [svc], retryPolicy: { count: 0, perTryTimeout: 'later' } },
          { conditions: [{ prefix: '/c' }], services: [svc], retryPolicy: { count: 4, perTryTimeout: '250ms', retryOn: ['gateway-error'], retriableStatusCodes: [503] } },
          { conditions: [{ prefix: '/d' }], services: [svc] },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const retry = (p: string) => vhost(r, FQDN)!.routes.find((x) => x.path.value === p)!.retry;
      assert.deepEqual(retry('/a'), { retryOn: ['5xx'], count: 0, perTryTimeoutMs: null, retriableStatusCodes: [] });
      assert.deepEqual(retry('/b'), { retryOn: ['5xx'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [] });
      assert.deepEqual(retry('/c'), { retryOn: ['gateway-error'], count: 4, perTryTimeoutMs: 250, retriableStatusCodes: [503] });
      assert.equal(retry('/d'), undefined);
    },
  },
  {
    name: 'rule 58: header policies: canonical names, Host rewrite, static variables expanded, global defaults merged',
    config: config((c) => {
      c.policy.requestHeaders = { set: { 'x-global': 'g', 'X-Svc': 'loses' }, remove: ['x-drop'] };
    }),
    objects: [
      root(
        'p',
        FQDN,
        {
          routes: [
            {
              requestHeadersPolicy: { set: [{ name: 'x-ns', value: '%CONTOUR_NAMESPACE%' }, { name: 'x-client', value: '%REQ(x-forwarded-for)%' }], remove: ['x-old'] },
              responseHeadersPolicy: { set: [{ name: 'cache-control', value: 'no-store' }] },
              services: [
                {
                  name: 's',
                  port: 80,
                  requestHeadersPolicy: { set: [{ name: 'x-svc', value: '%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%@%CONTOUR_NAMESPACE%' }] },
                },
              ],
            },
          ],
        },
        'team',
      ),
      service('s', [{ port: 80 }], { namespace: 'team' }),
    ],
    expect: { 'team/p': VALID },
    check: (r) => {
      const route = only(r);
      assert.deepEqual(route.requestHeaders, {
        set: [
          { name: 'X-Client', value: '%REQ(x-forwarded-for)%' },
          { name: 'X-Ns', value: 'team' },
        ],
        remove: ['X-Old'],
      });
      assert.deepEqual(route.responseHeaders, { set: [{ name: 'Cache-Control', value: 'no-store' }], remove: [] });
      assert.ok(route.action.kind === 'forward');
      assert.deepEqual(route.action.clusters[0]!.requestHeaders, {
        set: [
          { name: 'X-Global', value: 'g' },
          { name: 'X-Svc', value: 's:80@team' },
        ],
        remove: ['X-Drop'],
      });
    },
  },
  {
    name: 'rule 59: path rewrite: the entry for the routing prefix wins, with /foo and /foo/ variants',
    objects: [
      oneRoute({ conditions: [{ prefix: '/foo' }], pathRewritePolicy: { replacePrefix: [{ replacement: '/default' }, { prefix: '/foo', replacement: '/bar/' }] } }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const got = vhost(r, FQDN)!.routes.map((x) => [x.path.value, x.prefixRewrite]);
      assert.deepEqual(got, [['/foo/', '/bar/'], ['/foo', '/bar']]);
    },
  },
  {
    name: 'rule 59: without a matching entry the prefix-less replacement applies; "/" has no variant',
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/x' }], services: [svc], pathRewritePolicy: { replacePrefix: [{ replacement: '/' }, { prefix: '/other', replacement: '/o' }] } },
          { services: [svc], pathRewritePolicy: { replacePrefix: [{ replacement: '/root' }] } },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const got = vhost(r, FQDN)!.routes.map((x) => [x.path.value, x.prefixRewrite]);
      assert.deepEqual(got, [['/x/', '/'], ['/x', '/'], ['/', '/root']]);
    },
  },
  {
    name: 'rule 60: websockets only where enabled',
    objects: [root('p', FQDN, { routes: [{ services: [svc], enableWebsockets: true }, { conditions: [{ prefix: '/n' }], services: [svc] }] }), ...base],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(vhost(r, FQDN)!.routes.map((x) => [x.path.value, x.websocket]), [['/n', false], ['/', true]]),
  },
  {
    name: 'rule 61: health check defaults',
    objects: [oneRoute({ healthCheckPolicy: { path: '/healthz' } }), ...base],
    expect: { p: VALID },
    check: (r) =>
      assert.deepEqual(firstCluster(r, FQDN).healthCheck, {
        path: '/healthz',
        host: 'contour-envoy-healthcheck',
        intervalMs: 10000,
        timeoutMs: 2000,
        unhealthyThreshold: 3,
        healthyThreshold: 2,
        expectedStatuses: [{ start: 200, end: 201 }],
      }),
  },
  {
    name: 'rule 61: health check settings',
    objects: [oneRoute({ healthCheckPolicy: { path: '/hc', host: 'probe', intervalSeconds: 3, timeoutSeconds: 1, unhealthyThresholdCount: 5, healthyThresholdCount: 1 } }), ...base],
    expect: { p: VALID },
    check: (r) => {
      const hc = firstCluster(r, FQDN).healthCheck!;
      assert.deepEqual([hc.host, hc.intervalMs, hc.timeoutMs, hc.unhealthyThreshold, hc.healthyThreshold], ['probe', 3000, 1000, 5, 1]);
    },
  },
  {
    name: 'rule 62: endpoints never influence status; slices and Endpoints merge, not-ready excluded, targetPort resolved',
    objects: [
      root('p', FQDN, { routes: [{ services: [{ name: 'web', port: 80 }] }, { conditions: [{ prefix: '/none' }], services: [{ name: 'empty', port: 80 }] }] }),
      service('web', [{ port: 80, targetPort: 8080 }]),
      endpoints('web', ['10.0.0.2', '10.0.0.1'], 8080),
      slice('web-1', 'web', [{ ip: '10.0.0.3' }, { ip: '10.0.0.9', ready: false }, { ip: '10.0.0.1', ready: true }], 8080),
      service('empty'),
    ],
    expect: { p: VALID },
    check: (r) => {
      const byService = new Map(r.proxyConfig.clusters.map((c) => [c.service, c.endpoints]));
      assert.deepEqual(byService.get('web'), [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
        { address: '10.0.0.3', port: 8080 },
      ]);
      assert.deepEqual(byService.get('empty'), []);
    },
  },
  {
    name: 'route order: exact, then regex, then prefix longest first, then more header matches',
    objects: [
      root('p', FQDN, {
        routes: [
          { services: [svc] },
          { conditions: [{ prefix: '/api' }], services: [svc] },
          { conditions: [{ prefix: '/api' }, { header: { name: 'x', present: true } }], services: [svc] },
          { conditions: [{ prefix: '/api/v1' }], services: [svc] },
          { conditions: [{ regex: '/r.*' }], services: [svc] },
          { conditions: [{ exact: '/api/exact' }], services: [svc] },
        ],
      }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => {
      const got = vhost(r, FQDN)!.routes.map((x) => `${x.path.kind}:${x.path.value}:${x.headers.length}`);
      assert.deepEqual(got, ['exact:/api/exact:0', 'regex:/r.*:0', 'prefix:/api/v1:0', 'prefix:/api:1', 'prefix:/api:0', 'prefix:/:0']);
    },
  },
  {
    name: 'routes: redirects and direct responses; identical matches keep the last definition',
    objects: [
      root('p', FQDN, {
        routes: [
          { conditions: [{ prefix: '/old' }], requestRedirectPolicy: { scheme: 'https', hostname: 'new.example.com', statusCode: 301, prefix: '/new' } },
          { conditions: [{ prefix: '/gone' }], directResponsePolicy: { statusCode: 410, body: 'gone' } },
          { conditions: [{ prefix: '/gone' }], directResponsePolicy: { statusCode: 404 } },
        ],
      }),
    ],
    expect: { p: VALID },
    check: (r) => {
      const got = vhost(r, FQDN)!.routes.map((x) => [x.path.value, x.action]);
      assert.deepEqual(got, [
        ['/old', { kind: 'redirect', statusCode: 301, scheme: 'https', hostname: 'new.example.com', prefix: '/new' }],
        ['/gone', { kind: 'direct', statusCode: 404 }],
      ]);
    },
  },
  {
    name: 'routes: identical matches keep the last definition in a large virtual host too',
    objects: [
      root('p', FQDN, {
        routes: [
          ...Array.from({ length: 40 }, (_, i) => ({ conditions: [{ prefix: `/r${i}` }], directResponsePolicy: { statusCode: 200 } })),
          { conditions: [{ prefix: '/r3' }], directResponsePolicy: { statusCode: 418 } },
        ],
      }),
    ],
    expect: { p: VALID },
    check: (r) => {
      const routes = vhost(r, FQDN)!.routes;
      assert.equal(routes.length, 40);
      assert.deepEqual(routes.find((x) => x.path.value === '/r3')!.action, { kind: 'direct', statusCode: 418 });
    },
  },
  {
    name: 'routes: redirect path and prefix together are invalid',
    objects: [root('p', FQDN, { routes: [{ requestRedirectPolicy: { path: '/a', prefix: '/b' } }] })],
    expect: {
      p: invalidSame(['RouteError', 'RequestRedirectPolicy', 'route.requestRedirectPolicy is invalid: cannot specify both redirect path and redirect prefix']),
    },
  },
];

runRows(rows);
