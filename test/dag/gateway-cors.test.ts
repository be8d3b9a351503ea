// HTTPRoute's CORS filter as the route's own CORS policy: what the dag
// makes of each field, and what the proxy's CORS filter then answers to
// the requests of the conformance test HTTPRouteCORS (its three routes,
// as rows); malformed filters make the route not accepted naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CorsConfig } from '../../src/dag/index.ts';
import { compileCors, corsDecision, type CorsDecision } from '../../src/proxy/cors.ts';
import { endpoints, service, vhost } from './fixtures.ts';
import { ROUTE_OK, gateway, gatewayClass, http, httpRoute, parentLines, runGw, toGw } from './gateway-fixtures.ts';

const base = [gatewayClass(), gateway('gw', [http()]), service('s'), endpoints('s', ['127.0.0.1'], 8080)];

function corsOf(cors: unknown): { cors: CorsConfig | undefined; accepted: string; message: string } {
  const r = runGw([...base, httpRoute('r', { parentRefs: [toGw()], rules: [{ filters: [{ type: 'CORS', cors }], backendRefs: [{ name: 's', port: 80 }] }] } as never)]);
  const c = r.gatewayApi!.httproutes[0]!.parents[0]!.conditions[0]!;
  return { cors: vhost(r, '*')?.routes[0]?.cors, accepted: `${c.status}/${c.reason}`, message: c.message };
}

const MULTIPLE = {
  allowOrigins: ['https://www.foo.com', 'https://*.bar.com'],
  allowMethods: ['GET', 'OPTIONS'],
  allowHeaders: ['x-header-1', 'x-header-2'],
  exposeHeaders: ['x-header-3', 'x-header-4'],
  allowCredentials: true,
  maxAge: 3600,
};

test('CORS: the filter becomes the route\'s policy (origins as the spec reads them, lists joined, maxAge)', () => {
  const r = corsOf(MULTIPLE);
  assert.equal(r.accepted, 'True/Accepted');
  assert.deepEqual(r.cors, {
    allowOrigin: [
      { kind: 'regex', value: 'https://www\\.foo\\.com(:443)?' },
      { kind: 'regex', value: 'https://[A-Za-z0-9.-]+\\.bar\\.com(:443)?' },
    ],
    allowMethods: 'GET,OPTIONS',
    allowHeaders: 'x-header-1,x-header-2',
    exposeHeaders: 'x-header-3,x-header-4',
    maxAge: '3600',
    allowCredentials: true,
    allowPrivateNetwork: false,
    exposeOnPreflight: true,
  });
  assert.deepEqual(corsOf({ allowOrigins: ['*'] }).cors, { allowOrigin: [{ kind: 'exact', value: '*' }], allowMethods: '', allowHeaders: '', exposeHeaders: '', maxAge: '5', allowCredentials: false, allowPrivateNetwork: false, exposeOnPreflight: true });
  assert.deepEqual(corsOf({ allowOrigins: ['http://a.example:8080'] }).cors?.allowOrigin, [{ kind: 'regex', value: 'http://a\\.example:8080' }]);
});

const preflight = (origin: string, method: string, headers?: string) => ({ origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) });

interface Row {
  name: string;
  cors: unknown;
  method: string;
  headers: Record<string, string>;
  want: CorsDecision;
}

// The conformance test (HTTPRouteCORS) wants the exposed headers on preflights too.
const FULL = { 'access-control-allow-credentials': 'true', 'access-control-allow-methods': 'GET,OPTIONS', 'access-control-allow-headers': 'x-header-1,x-header-2', 'access-control-expose-headers': 'x-header-3,x-header-4', 'access-control-max-age': '3600' };
const rows: Row[] = [
  { name: 'preflight from an exact origin', cors: MULTIPLE, method: 'OPTIONS', headers: preflight('https://www.foo.com', 'GET', 'x-header-1, x-header-2'), want: { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://www.foo.com', ...FULL } } },
  { name: 'preflight from a wildcard origin, one label', cors: MULTIPLE, method: 'OPTIONS', headers: preflight('https://www.bar.com', 'GET'), want: { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://www.bar.com', ...FULL } } },
  { name: 'preflight from a wildcard origin, two labels', cors: MULTIPLE, method: 'OPTIONS', headers: preflight('https://xpto.www.bar.com', 'GET'), want: { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://xpto.www.bar.com', ...FULL } } },
  { name: 'preflight from an origin not allowed: nothing (forwarded)', cors: MULTIPLE, method: 'OPTIONS', headers: preflight('https://foobar.com', 'GET'), want: { kind: 'none' } },
  { name: 'the wildcard does not match the bare domain', cors: MULTIPLE, method: 'OPTIONS', headers: preflight('https://bar.com', 'GET'), want: { kind: 'none' } },
  { name: 'another scheme is another origin', cors: MULTIPLE, method: 'OPTIONS', headers: preflight('http://www.foo.com', 'GET'), want: { kind: 'none' } },
  { name: 'the scheme\'s own port written out is the same origin', cors: MULTIPLE, method: 'GET', headers: { origin: 'https://www.foo.com:443' }, want: { kind: 'response', headers: { 'access-control-allow-origin': 'https://www.foo.com:443', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-header-3,x-header-4' } } },
  { name: 'another port is another origin', cors: MULTIPLE, method: 'GET', headers: { origin: 'https://www.foo.com:8443' }, want: { kind: 'none' } },
  { name: 'a simple request from an allowed origin', cors: MULTIPLE, method: 'GET', headers: { origin: 'https://www.bar.com' }, want: { kind: 'response', headers: { 'access-control-allow-origin': 'https://www.bar.com', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-header-3,x-header-4' } } },
  { name: 'allowMethods "*" answers the method asked, without credentials', cors: { allowOrigins: ['https://www.foo.com'], allowMethods: ['*'] }, method: 'OPTIONS', headers: preflight('https://www.foo.com', 'POST'), want: { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://www.foo.com', 'access-control-allow-methods': 'POST', 'access-control-max-age': '5' } } },
  { name: 'origin "*" answers the origin', cors: { allowOrigins: ['*'], allowMethods: ['PUT'], allowCredentials: false }, method: 'OPTIONS', headers: preflight('https://foobar.com', 'PUT'), want: { kind: 'preflight', headers: { 'access-control-allow-origin': 'https://foobar.com', 'access-control-allow-methods': 'PUT', 'access-control-max-age': '5' } } },
];

for (const row of rows) {
  test(`CORS on the proxy: ${row.name}`, () => {
    const r = corsOf(row.cors);
    assert.ok(r.cors, 'the route has its CORS policy');
    assert.deepEqual(corsDecision(compileCors(r.cors), row.method, row.headers), row.want);
  });
}

const invalid: [string, unknown, string][] = [
  ['an origin with a path', { allowOrigins: ['https://a.example/x'] }, 'allowOrigins: "https://a.example/x" is not "*" or <scheme>://<host>(:<port>) with scheme http or https'],
  ['an origin of another scheme', { allowOrigins: ['ftp://a.example'] }, 'allowOrigins: "ftp://a.example" is not "*" or <scheme>://<host>(:<port>) with scheme http or https'],
  ['a port over 65535', { allowOrigins: ['https://a.example:70000'] }, 'allowOrigins: "https://a.example:70000" has a port outside 1-65535'],
  ['"*" with another origin', { allowOrigins: ['*', 'https://a.example'] }, "allowOrigins cannot contain '*' alongside other values"],
  ['a method the spec does not list', { allowMethods: ['FETCH'] }, 'allowMethods: "FETCH" is not valid'],
  ['"*" with another method', { allowMethods: ['*', 'GET'] }, "allowMethods cannot contain '*' alongside other values"],
  ['a header name with a colon', { allowHeaders: [':method'] }, 'allowHeaders: ":method" is not valid'],
  ['exposeHeaders not a list', { exposeHeaders: 'x-a' }, 'exposeHeaders must be a list'],
  ['maxAge 0', { maxAge: 0 }, 'maxAge: 0 is not a whole number of seconds of at least 1'],
  ['allowCredentials a string', { allowCredentials: 'yes' }, 'allowCredentials must be true or false'],
  ['cors missing', undefined, 'cors must be an object'],
];

for (const [name, cors, message] of invalid) {
  test(`CORS: ${name} makes the route not accepted (UnsupportedValue naming the field), not served`, () => {
    const r = corsOf(cors);
    assert.deepEqual([r.accepted, r.message], ['False/UnsupportedValue', `rules[0]: CORS filter: ${message}`]);
    assert.equal(r.cors, undefined);
  });
}

test('CORS on one rule only: the other rules of the route have none', () => {
  const r = runGw([
    ...base,
    httpRoute('r', {
      parentRefs: [toGw()],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/cors' } }], filters: [{ type: 'CORS', cors: { allowOrigins: ['*'] } }], backendRefs: [{ name: 's', port: 80 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/plain' } }], backendRefs: [{ name: 's', port: 80 }] },
      ],
    } as never),
  ]);
  assert.deepEqual(parentLines(r.gatewayApi!.httproutes[0]!), [`infra/gw: ${ROUTE_OK}`]);
  assert.deepEqual(vhost(r, '*')!.routes.map((x) => [x.path.value, x.cors !== undefined]), [['/plain', false], ['/plain/', false], ['/cors', true], ['/cors/', true]]);
});
