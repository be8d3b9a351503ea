// contour-semantics.md section (d): validity and status, rules 27-42, and
// schema-rejected HTTPProxies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertStatuses,
  config,
  endpoints,
  invalid,
  invalidSame,
  ORPHANED,
  proxy,
  rejected,
  root,
  run,
  service,
  vhost,
  VALID,
  type Row,
  runRows,
} from './fixtures.ts';

const FQDN = 'a.example.com';
const svc = { name: 's', port: 80 };
const routes = { routes: [{ services: [svc] }] };
const base = [service('s'), endpoints('s', ['10.0.0.1'], 80)];
const unresolved = (name: string, route = '/', ns = 'default'): [string, string, string] => [
  'ServiceError',
  'ServiceUnresolvedReference',
  `Spec.Routes unresolved service reference: service "${ns}/${name}" not found`,
];
const noRoutes = (r: ReturnType<typeof run>) => assert.deepEqual(r.proxyConfig.httpVirtualHosts, []);
const routeErr = (reason: string, message: string) => invalidSame(['RouteError', reason, message]);
const withConds = (conditions: unknown[], extra: Record<string, unknown> = {}) =>
  root('p', FQDN, { routes: [{ conditions: conditions as never, services: [svc], ...extra }] });

const rows: Row[] = [
  {
    name: 'rule 28: warnings do not change validity',
    objects: [
      root('p', FQDN, { routes: [{ services: [svc], loadBalancerPolicy: { strategy: 'RequestHash', requestHashPolicies: [{}] } }] }),
      ...base,
    ],
    expect: {
      p: {
        ...VALID,
        warnings: [
          ['SpecError', 'IgnoredField', 'ignoring invalid request hash policy, must set exactly one of hashSourceIP or headerHashOptions or queryParameterHashOptions'],
          ['SpecError', 'IgnoredField', 'ignoring invalid request hash policy options, setting load balancer strategy to default RoundRobin'],
        ],
      },
    },
  },
  {
    name: 'rule 29: errors are appended in order without dedup; the description names the first',
    objects: [
      root('p', FQDN, { routes: [{ services: [{ name: 'x', port: 80 }, { name: 'x', port: 80 }, { name: 'y', port: 80 }] }] }),
    ],
    expect: {
      p: invalid('route "/": service "x": service "default/x" not found', unresolved('x'), unresolved('x'), unresolved('y')),
    },
    check: (r) => assert.deepEqual(vhost(r, FQDN)!.routes[0]!.action, { kind: 'direct', statusCode: 503 }),
  },
  {
    name: 'rule 30: an HTTPProxy no root includes is orphaned',
    objects: [proxy('c', routes), ...base],
    expect: { c: ORPHANED },
  },
  {
    name: 'rule 31: without a configured class, only unclassed and "contour" proxies get a status',
    objects: [
      proxy('p', { ingressClassName: 'contour', virtualhost: { fqdn: FQDN }, ...routes }),
      proxy('q', { ingressClassName: 'other', virtualhost: { fqdn: 'b.example.com' }, ...routes }),
      proxy('r', { virtualhost: { fqdn: 'c.example.com' }, ...routes }, 'default', { annotations: { 'kubernetes.io/ingress.class': 'other' } }),
      ...base,
    ],
    expect: { p: VALID },
    check: (r) => assert.deepEqual(r.proxyConfig.httpVirtualHosts.map((v) => v.fqdn), [FQDN]),
  },
  {
    name: 'rule 31: a configured ingress class must match exactly; includes of other classes are not found',
    config: config((c) => {
      c.ingressClassName = 'internal';
    }),
    objects: [
      proxy('p', { ingressClassName: 'internal', virtualhost: { fqdn: FQDN }, includes: [{ name: 'c' }] }),
      proxy('c', routes),
      proxy('q', { virtualhost: { fqdn: 'b.example.com' }, ...routes }),
      ...base,
    ],
    expect: { p: invalidSame(['IncludeError', 'IncludeNotFound', 'include default/c not found']) },
  },
  {
    name: 'rule 32: duplicate fqdns (case-insensitive) are all invalid, their children orphaned',
    objects: [
      root('p', 'A.example.com', { includes: [{ name: 'c' }] }),
      root('q', 'a.example.com', routes, 'other'),
      proxy('c', routes),
      ...base,
    ],
    expect: {
      p: invalidSame(['VirtualHostError', 'DuplicateVhost', 'fqdn "a.example.com" is used in multiple HTTPProxies: default/p, other/q']),
      'other/q': invalidSame(['VirtualHostError', 'DuplicateVhost', 'fqdn "a.example.com" is used in multiple HTTPProxies: default/p, other/q']),
      c: ORPHANED,
    },
    check: noRoutes,
  },
  {
    name: 'rule 33: a child route error goes on the child; the root stays valid and serves the rest',
    objects: [
      root('p', FQDN, { routes: [{ services: [svc] }], includes: [{ name: 'c', conditions: [{ prefix: '/c' }] }] }),
      proxy('c', { routes: [{ services: [{ name: 'gone', port: 80 }] }] }),
      ...base,
    ],
    expect: { p: VALID, c: invalid('route "/c": service "gone": service "default/gone" not found', unresolved('gone')) },
    check: (r) => {
      const got = vhost(r, FQDN)!.routes.map((x) => [x.path.value, x.action.kind]);
      assert.deepEqual(got, [['/c', 'direct'], ['/', 'forward']]);
    },
  },
  {
    name: 'rule 33: a child keeps an error recorded on one path even when another path is valid',
    objects: [
      root('p', FQDN, { includes: [{ name: 'c', conditions: [{ header: { name: 'x-a', exact: '1' } }] }] }),
      root('q', 'b.example.com', { includes: [{ name: 'c' }] }),
      proxy('c', { routes: [{ conditions: [{ header: { name: 'X-A', exact: '2' } }], services: [svc] }] }),
      ...base,
    ],
    expect: {
      p: VALID,
      q: VALID,
      c: routeErr('HeaderMatchConditionsNotValid', "cannot specify duplicate header 'exact match' conditions in the same route"),
    },
    check: (r) => {
      assert.equal(vhost(r, FQDN), undefined);
      assert.equal(vhost(r, 'b.example.com')!.routes.length, 1);
    },
  },
  {
    name: 'rule 34/35: a root in a disallowed namespace fails before routes; its children are orphaned',
    config: config((c) => {
      c.rootNamespaces = ['edge'];
    }),
    objects: [root('p', FQDN, { includes: [{ name: 'c' }] }), proxy('c', routes), ...base],
    expect: {
      p: { ...invalidSame(['RootNamespaceError', 'RootProxyNotAllowedInNamespace', 'root HTTPProxy cannot be defined in this namespace']), fqdn: FQDN },
      c: ORPHANED,
    },
  },
  {
    name: 'rule 35: a blank fqdn is checked first',
    config: config((c) => {
      c.rootNamespaces = ['edge'];
    }),
    objects: [root('p', '  ', {}), ...base],
    expect: { p: { ...invalidSame(['VirtualHostError', 'FQDNNotSpecified', 'Spec.VirtualHost.Fqdn must be specified']), fqdn: '' } },
  },
  {
    name: 'rule 35: a root with nothing defined',
    objects: [root('p', FQDN, {})],
    expect: { p: invalidSame(['SpecError', 'NothingDefined', 'HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy']) },
  },
  {
    name: 'rule 35: JWT providers need TLS termination',
    objects: [proxy('p', { virtualhost: { fqdn: FQDN, jwtProviders: [{ name: 'j' }] }, ...routes }), ...base],
    expect: {
      p: invalidSame([
        'JWTVerificationError',
        'JWTVerificationNotPermitted',
        'Spec.VirtualHost.JWTProviders can only be defined for root HTTPProxies that terminate TLS',
      ]),
    },
  },
  {
    name: 'rule 35: authorization needs TLS',
    objects: [proxy('p', { virtualhost: { fqdn: FQDN, authorization: { extensionRef: { name: 'authz' } } }, ...routes }), ...base],
    expect: {
      p: invalidSame(['AuthError', 'AuthNotPermitted', 'Spec.VirtualHost.Authorization.ExtensionServiceRef can only be defined for root HTTPProxies that terminate TLS']),
    },
  },
  {
    name: 'rule 35: ipAllowPolicy and ipDenyPolicy together',
    objects: [proxy('p', { virtualhost: { fqdn: FQDN, ipAllowPolicy: [{ cidr: '10.0.0.0/8', source: 'Peer' }], ipDenyPolicy: [{ cidr: '10.1.0.0/16', source: 'Peer' }] }, ...routes }), ...base],
    expect: {
      p: invalidSame(['IPFilterError', 'IncompatibleIPAddressFilters', 'Spec.VirtualHost.IPAllowFilterPolicy and Spec.VirtualHost.IPDepnyFilterPolicy cannot both be defined.']),
    },
  },
  {
    name: 'rule 35: a CORS policy Contour cannot parse is an error after the routes; nothing is programmed',
    objects: [proxy('p', { virtualhost: { fqdn: FQDN, corsPolicy: { allowOrigin: ['*'], allowMethods: [], maxAge: '10m' } }, ...routes }), ...base],
    expect: {
      p: invalidSame(['CORSError', 'PolicyDidNotParse', 'Spec.VirtualHost.CORSPolicy: invalid allowed methods configuration with length 0']),
    },
    check: noRoutes,
  },
  {
    name: 'rule 35: CORS origins must be an exact origin or a valid regex',
    objects: [proxy('p', { virtualhost: { fqdn: FQDN, corsPolicy: { allowOrigin: ['https://ok.example.com', 'https://x.example.com/path(', '*'], allowMethods: ['GET'] } }, ...routes }), ...base],
    expect: {
      p: {
        ...invalidSame([
          'CORSError',
          'PolicyDidNotParse',
          'Spec.VirtualHost.CORSPolicy: invalid allowed origin "https://x.example.com/path(": allowed origin is invalid exact match and invalid regex match',
        ]),
      },
    },
  },
  {
    name: 'rule 35: route features isobar does not implement are warnings',
    objects: [
      root('p', FQDN, {
        routes: [{ conditions: [{ prefix: '/x' }], services: [svc], slowStartPolicy: { window: '5s' } } as never],
      }),
      ...base,
    ],
    expect: {
      p: {
        ...VALID,
        warnings: [
          ['SpecError', 'IgnoredField', 'route "/x": slowStartPolicy is not supported by isobar and is ignored'],
        ],
      },
    },
  },
  {
    name: 'rule 36: exact and regex conditions are not allowed on includes; the include is skipped',
    objects: [
      root('p', FQDN, { ...routes, includes: [{ name: 'c', conditions: [{ exact: '/a' }] }, { name: 'd', conditions: [{ regex: '/b.*' }] }] }),
      proxy('c', routes),
      proxy('d', routes),
      ...base,
    ],
    expect: {
      p: invalid(
        'include: exact conditions are not allowed in includes block',
        ['IncludeError', 'PathMatchConditionsNotValid', 'include: exact conditions are not allowed in includes block'],
        ['IncludeError', 'PathMatchConditionsNotValid', 'include: regex conditions are not allowed in includes block'],
      ),
      c: ORPHANED,
      d: ORPHANED,
    },
    check: (r) => assert.equal(vhost(r, FQDN)!.routes.length, 1, 'the root route is still served'),
  },
  {
    name: 'rule 36: include prefixes must start with / and be single',
    objects: [
      root('p', FQDN, { includes: [{ name: 'c', conditions: [{ prefix: 'a' }] }, { name: 'c', conditions: [{ prefix: '/a' }, { prefix: '/b' }] }] }),
      proxy('c', routes),
      ...base,
    ],
    expect: {
      p: invalid(
        'include: prefix conditions must start with /, a was supplied',
        ['IncludeError', 'PathMatchConditionsNotValid', 'include: prefix conditions must start with /, a was supplied'],
        ['IncludeError', 'PathMatchConditionsNotValid', 'include: more than one prefix, exact or regex is not allowed in a condition block'],
      ),
      c: ORPHANED,
    },
  },
  {
    name: 'rule 36: invalid include header conditions are a RouteError',
    objects: [
      root('p', FQDN, { includes: [{ name: 'c', conditions: [{ header: { name: 'x', present: true } }, { header: { name: 'X', notpresent: true } }] }] }),
      proxy('c', routes),
      ...base,
    ],
    expect: {
      p: routeErr('HeaderMatchConditionsNotValid', "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header"),
      c: ORPHANED,
    },
  },
  {
    name: 'rule 36: duplicate include conditions; empty and lone "/" are never duplicates',
    objects: [
      root('p', FQDN, {
        includes: [
          { name: 'c' },
          { name: 'd' },
          { name: 'c', conditions: [{ prefix: '/' }] },
          { name: 'c', conditions: [{ prefix: '/x' }, { header: { name: 'a', exact: '1' } }] },
          { name: 'd', conditions: [{ header: { name: 'A', exact: '1' } }, { prefix: '/x' }] },
        ],
      }),
      proxy('c', routes),
      proxy('d', { routes: [{ conditions: [{ prefix: '/d' }], services: [svc] }] }),
      ...base,
    ],
    expect: { p: invalidSame(['IncludeError', 'DuplicateMatchConditions', 'duplicate conditions defined on an include']), c: VALID, d: VALID },
  },
  {
    name: 'rule 36: a missing include target: error, and a 502 route for its conditions; namespace defaults to the includer',
    objects: [root('p', FQDN, { ...routes, includes: [{ name: 'gone', conditions: [{ prefix: '/gone' }] }, { name: 'nocond' }] }), ...base],
    expect: {
      p: invalid(
        'include default/gone not found',
        ['IncludeError', 'IncludeNotFound', 'include default/gone not found'],
        ['IncludeError', 'IncludeNotFound', 'include default/nocond not found'],
      ),
    },
    check: (r) => {
      const got = vhost(r, FQDN)!.routes.map((x) => [x.path.value, x.action.kind === 'direct' ? x.action.statusCode : x.action.kind]);
      assert.deepEqual(got, [['/gone', 502], ['/', 'forward']]);
    },
  },
  {
    name: 'rule 36: a root including a root',
    objects: [root('p', FQDN, { includes: [{ name: 'q', namespace: 'other', conditions: [{ prefix: '/q' }] }] }), root('q', 'b.example.com', routes, 'other'), ...base],
    expect: {
      p: invalidSame(['IncludeError', 'RootIncludesRoot', 'root httpproxy cannot include another root httpproxy (other/q)']),
      'other/q': invalid('route "/": service "s": service "other/s" not found', unresolved('s', '/', 'other')),
    },
    check: (r) => assert.deepEqual(vhost(r, FQDN)!.routes.map((x) => x.action), [{ kind: 'direct', statusCode: 502 }]),
  },
  {
    name: 'rule 37: an include cycle is reported on the proxy that closes it, with the full path',
    objects: [
      root('r', FQDN, { includes: [{ name: 'a' }] }),
      proxy('a', { includes: [{ name: 'b', conditions: [{ prefix: '/b' }] }], routes: [{ conditions: [{ prefix: '/a' }], services: [svc] }] }),
      proxy('b', { includes: [{ name: 'a' }], routes: [{ services: [svc] }] }),
      ...base,
    ],
    expect: {
      r: VALID,
      a: invalidSame(['IncludeError', 'IncludeCreatesCycle', 'include creates an include cycle: default/r -> default/a -> default/b -> default/a']),
      b: VALID,
    },
  },
  {
    name: 'rule 37: a self-include',
    objects: [root('r', FQDN, { includes: [{ name: 'b' }] }), proxy('b', { includes: [{ name: 'b', conditions: [{ prefix: '/x' }] }], ...routes }), ...base],
    expect: { r: VALID, b: invalidSame(['IncludeError', 'IncludeCreatesCycle', 'include creates an include cycle: default/r -> default/b -> default/b']) },
  },
  {
    name: 'rule 37: a tcpproxy include cycle',
    objects: [
      root('r', FQDN, { tls: { passthrough: true }, tcpproxy: { include: { name: 'a' } } }),
      proxy('a', { tcpproxy: { include: { name: 'b' } } }),
      proxy('b', { tcpproxy: { include: { name: 'a' } } }),
      ...base,
    ],
    expect: {
      r: VALID,
      a: VALID,
      b: invalidSame(['TCPProxyIncludeError', 'IncludeCreatesCycle', 'include creates a cycle: default/r -> default/a -> default/b -> default/a']),
    },
  },
  {
    name: 'rule 38: a route with no action',
    objects: [root('p', FQDN, { routes: [{ conditions: [{ prefix: '/' }] }] }), ...base],
    expect: { p: routeErr('RouteActionCountNotValid', 'must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy') },
    check: noRoutes,
  },
  {
    name: 'rule 38: a route with two actions',
    objects: [root('p', FQDN, { routes: [{ services: [svc], directResponsePolicy: { statusCode: 200 } }] }), ...base],
    expect: { p: routeErr('RouteActionCountNotValid', 'must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy') },
  },
  {
    name: 'rule 38: route prefix must start with /',
    objects: [withConds([{ prefix: 'api' }]), ...base],
    expect: { p: routeErr('PathMatchConditionsNotValid', 'route: prefix conditions must start with /, api was supplied') },
  },
  {
    name: 'rule 38: route exact must start with /',
    objects: [withConds([{ exact: 'api' }]), ...base],
    expect: { p: routeErr('PathMatchConditionsNotValid', 'route: exact conditions must start with /, api was supplied') },
  },
  {
    name: 'rule 38: route regex must start with /',
    objects: [withConds([{ regex: 'api.*' }]), ...base],
    expect: { p: routeErr('PathMatchConditionsNotValid', 'route: regex conditions must start with /, api.* was supplied') },
  },
  {
    name: 'rule 38: an invalid route regex',
    objects: [withConds([{ regex: '/api(' }]), ...base],
    expect: {
      p: routeErr('PathMatchConditionsNotValid', 'route: supplied regex: /api( invalid. error: error parsing regexp: unterminated group: `/api(`'),
    },
  },
  {
    name: 'rule 38: more than one path condition',
    objects: [withConds([{ prefix: '/a' }, { exact: '/b' }]), ...base],
    expect: { p: routeErr('PathMatchConditionsNotValid', 'route: more than one prefix, exact or regex is not allowed in a condition block') },
  },
  {
    name: 'rule 38: a fatal route error drops the routes already collected from includes',
    objects: [
      root('p', FQDN, { includes: [{ name: 'c', conditions: [{ prefix: '/c' }] }], routes: [{ conditions: [{ prefix: 'bad' }], services: [svc] }] }),
      proxy('c', routes),
      ...base,
    ],
    expect: { p: routeErr('PathMatchConditionsNotValid', 'route: prefix conditions must start with /, bad was supplied'), c: VALID },
    check: noRoutes,
  },
  {
    name: 'rule 38: contradictory exact and notexact header conditions',
    objects: [withConds([{ header: { name: 'x', exact: 'v' } }, { header: { name: 'x', notexact: 'v' } }]), ...base],
    expect: { p: routeErr('HeaderMatchConditionsNotValid', "cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header") },
  },
  {
    name: 'rule 38: contradictory contains and notcontains header conditions',
    objects: [withConds([{ header: { name: 'x', notcontains: 'v' } }, { header: { name: 'X', contains: 'v' } }]), ...base],
    expect: { p: routeErr('HeaderMatchConditionsNotValid', "cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header") },
  },
  {
    name: 'rule 38: an invalid header regex',
    objects: [withConds([{ header: { name: 'x', regex: '[' } }]), ...base],
    expect: { p: routeErr('HeaderMatchConditionsNotValid', "invalid regular expression specified for 'regex' condition") },
  },
  {
    name: 'rule 38: query parameter conditions must set one match',
    objects: [withConds([{ queryParameter: { name: 'q' } }]), ...base],
    expect: { p: routeErr('QueryParameterMatchConditionsNotValid', 'must specify at least one query parameter condition') },
  },
  {
    name: 'rule 39: service port out of range is fatal and checked before lookup',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 'gone', port: 70000 }] }] })],
    expect: {
      p: invalid('route "/": service "gone": port must be in the range 1-65535', ['ServiceError', 'ServicePortInvalid', 'service "gone": port must be in the range 1-65535']),
    },
    check: noRoutes,
  },
  {
    name: 'rule 39: an unresolved service is skipped; the other still serves',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 'gone', port: 80 }, svc] }] }), ...base],
    expect: { p: invalid('route "/": service "gone": service "default/gone" not found', unresolved('gone')) },
    check: (r) => {
      const a = vhost(r, FQDN)!.routes[0]!.action;
      assert.equal(a.kind === 'forward' && a.clusters.length, 1);
    },
  },
  {
    name: 'rule 39: an unmatched port',
    objects: [root('p', FQDN, { routes: [{ services: [{ name: 's', port: 81 }] }] }), ...base],
    expect: {
      p: invalid('route "/": service "s": port "81" on service "default/s" not matched', [
        'ServiceError',
        'ServiceUnresolvedReference',
        'Spec.Routes unresolved service reference: port "81" on service "default/s" not matched',
      ]),
    },
  },
  {
    name: 'rule 39: ExternalName services are disabled by default',
    objects: [root('p', FQDN, routes), service('s', [{ port: 80 }], { type: 'ExternalName', externalName: 'example.org' })],
    expect: {
      p: invalid(
        'route "/": service "s": default/s is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting',
        [
          'ServiceError',
          'ServiceUnresolvedReference',
          'Spec.Routes unresolved service reference: default/s is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting',
        ],
      ),
    },
  },
  {
    name: 'rule 39: only one mirror per route',
    objects: [root('p', FQDN, { routes: [{ services: [svc, { ...svc, mirror: true }, { ...svc, mirror: true }] }] }), ...base],
    expect: {
      p: invalid('route "/": service "s": only one service per route may be nominated as mirror', [
        'ServiceError',
        'OnlyOneMirror',
        'only one service per route may be nominated as mirror',
      ]),
    },
    check: (r) => {
      noRoutes(r);
      assert.deepEqual(r.proxyConfig.clusters, [], 'clusters of a dropped route are not emitted');
    },
  },
  {
    name: 'rule 40: duplicate route request header',
    objects: [root('p', FQDN, { routes: [{ services: [svc], requestHeadersPolicy: { set: [{ name: 'x-a', value: '1' }, { name: 'X-A', value: '2' }] } }] }), ...base],
    expect: { p: routeErr('RequestHeadersPolicyInvalid', 'duplicate header addition: "X-A" on request headers') },
  },
  {
    name: 'rule 40: Host on route response headers',
    objects: [root('p', FQDN, { routes: [{ services: [svc], responseHeadersPolicy: { set: [{ name: 'host', value: 'x' }] } }] }), ...base],
    expect: { p: routeErr('ResponseHeaderPolicyInvalid', 'rewriting "Host" header is not supported on response headers') },
  },
  {
    name: 'rule 40: Host on service response headers',
    objects: [root('p', FQDN, { routes: [{ services: [{ ...svc, responseHeadersPolicy: { set: [{ name: 'Host', value: 'x' }] } }] }] }), ...base],
    expect: {
      p: invalid('route "/": service "s": rewriting "Host" header is not supported on response headers', [
        'ServiceError',
        'ResponseHeadersPolicyInvalid',
        'rewriting "Host" header is not supported on response headers',
      ]),
    },
  },
  {
    name: 'rule 40: duplicate header removal',
    objects: [root('p', FQDN, { routes: [{ services: [svc], requestHeadersPolicy: { remove: ['x-a', 'X-a'] } }] }), ...base],
    expect: { p: routeErr('RequestHeadersPolicyInvalid', 'duplicate header removal: "X-A" on request headers') },
  },
  {
    name: 'rule 41: an unparsable response timeout',
    objects: [root('p', FQDN, { routes: [{ services: [svc], timeoutPolicy: { response: 'soon' } }] }), ...base],
    expect: {
      p: routeErr(
        'TimeoutPolicyNotValid',
        'route.timeoutPolicy failed to parse: error parsing response timeout: unable to parse timeout string "soon": time: invalid duration "soon"',
      ),
    },
  },
  {
    name: 'rule 41: an unparsable idle timeout (missing unit)',
    objects: [root('p', FQDN, { routes: [{ services: [svc], timeoutPolicy: { idle: '10' } }] }), ...base],
    expect: {
      p: routeErr(
        'TimeoutPolicyNotValid',
        'route.timeoutPolicy failed to parse: error parsing idle timeout: unable to parse timeout string "10": time: missing unit in duration "10"',
      ),
    },
  },
  {
    name: 'rule 41: an unparsable idle connection timeout (unknown unit)',
    objects: [root('p', FQDN, { routes: [{ services: [svc], timeoutPolicy: { idleConnection: '5d' } }] }), ...base],
    expect: {
      p: routeErr(
        'TimeoutPolicyNotValid',
        'route.timeoutPolicy failed to parse: error parsing idle connection timeout: unable to parse timeout string "5d": time: unknown unit "d" in duration "5d"',
      ),
    },
  },
  {
    name: 'rule 42: prefix replacement needs a prefix condition',
    objects: [root('p', FQDN, { routes: [{ conditions: [{ exact: '/a' }], services: [svc], pathRewritePolicy: { replacePrefix: [{ replacement: '/b' }] } }] }), ...base],
    expect: { p: invalidSame(['PrefixReplaceError', 'MustHavePrefix', 'cannot specify prefix replacements without a prefix condition']) },
  },
  {
    name: 'rule 42: duplicate replacement prefix',
    objects: [
      root('p', FQDN, {
        routes: [{ conditions: [{ prefix: '/a' }], services: [svc], pathRewritePolicy: { replacePrefix: [{ prefix: '/a', replacement: '/b' }, { prefix: '/a', replacement: '/c' }] } }],
      }),
      ...base,
    ],
    expect: { p: invalidSame(['PrefixReplaceError', 'DuplicateReplacement', "duplicate replacement prefix '/a'"]) },
  },
  {
    name: 'rule 42: two replacements without a prefix are ambiguous',
    objects: [
      root('p', FQDN, { routes: [{ services: [svc], pathRewritePolicy: { replacePrefix: [{ replacement: '/b' }, { replacement: '/c' }] } }] }),
      ...base,
    ],
    expect: { p: invalidSame(['PrefixReplaceError', 'AmbiguousReplacement', 'ambiguous prefix replacement']) },
  },
  {
    name: 'schema: a rejected HTTPProxy is invalid naming the field; an include of it acts as an invalid child',
    objects: [
      root('p', FQDN, { ...routes, includes: [{ name: 'bad', conditions: [{ prefix: '/bad' }] }] }),
      rejected('bad', [
        { path: 'spec.routes[0].services[0].port', message: 'must be <= 65535' },
        { path: 'spec.routes[0].services[0].name', message: 'must be a string' },
      ]),
      ...base,
    ],
    expect: {
      p: VALID,
      bad: invalid(
        'spec.routes[0].services[0].port: must be <= 65535',
        ['SpecError', 'SchemaInvalid', 'spec.routes[0].services[0].port: must be <= 65535'],
        ['SpecError', 'SchemaInvalid', 'spec.routes[0].services[0].name: must be a string'],
      ),
    },
    check: (r) => assert.deepEqual(vhost(r, FQDN)!.routes.map((x) => x.path.value), ['/']),
  },
];

runRows(rows);

test('rule 27: one Valid condition whose observedGeneration is metadata.generation', () => {
  const r = run([proxy('p', { virtualhost: { fqdn: FQDN }, ...routes }, 'default', { generation: 7 }), ...base]);
  assertStatuses(r, { p: { ...VALID, fqdn: FQDN } }, 7);
  const bad = run([proxy('p', { virtualhost: { fqdn: FQDN } }, 'default', { generation: 3 })]);
  assertStatuses(bad, { p: invalidSame(['SpecError', 'NothingDefined', 'HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy']) }, 3);
});

test('rule 27: statuses are sorted by namespace then name and carry the TLS secret name', () => {
  const r = run([root('b', 'b.example.com', routes, 'z'), root('a', 'a.example.com', { ...routes, tls: { secretName: 'certs/edge' } }, 'z'), root('c', 'c.example.com', routes, 'a'), ...base]);
  assert.deepEqual(r.statuses.map((s) => `${s.namespace}/${s.name}`), ['a/c', 'z/a', 'z/b']);
  assert.equal(r.statuses[1]!.tlsSecret, 'certs/edge');
});
