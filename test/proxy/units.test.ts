// Pure pieces of the proxy: host tables, matchers, header ops, hashing,
// SAN matching, redirects, hop-by-hop filtering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostname } from 'node:os';
import fc from 'fast-check';
import { HostTable, normalizeHost } from '../../src/proxy/host.ts';
import { compileHeader, compilePath, compileQuery, queryParam, type RequestView } from '../../src/proxy/matchers.ts';
import { applyToList, applyToObject, compileHeaderOps, type OpContext } from '../../src/proxy/header-ops.ts';
import { affinityCookie, hashKey, LoadBalancer } from '../../src/proxy/load-balancer.ts';
import { dnsSanMatches } from '../../src/proxy/upstream-tls.ts';
import { redirectLocation, httpsRedirectLocation, authorityPort } from '../../src/proxy/redirect.ts';
import { connectionTokens, filterResponseHeaders } from '../../src/proxy/hop-by-hop.ts';
import { RouteTableCompiler } from '../../src/proxy/route-table.ts';
import { backoffMs, retriableFailure, retriableResponse } from '../../src/proxy/retry-policy.ts';

function view(path: string, headers: Record<string, string> = {}, query = ''): RequestView {
  return { path, query, header: (n) => headers[n] };
}

test('normalizeHost strips port, trailing dot and case; handles IPv6', () => {
  assert.equal(normalizeHost('Example.COM:8080'), 'example.com');
  assert.equal(normalizeHost('example.com.'), 'example.com');
  assert.equal(normalizeHost('[::1]:80'), '[::1]');
  assert.equal(normalizeHost('[::1'), '');
  assert.equal(normalizeHost(undefined), '');
});

test('HostTable: exact beats wildcard; wildcard is one label', () => {
  const t = new HostTable<string>();
  t.add('*.example.com', 'wild');
  t.add('a.example.com', 'exact');
  assert.equal(t.lookup('a.example.com'), 'exact');
  assert.equal(t.lookup('b.example.com'), 'wild');
  assert.equal(t.lookup('x.b.example.com'), undefined);
  assert.equal(t.lookup('example.com'), undefined);
  assert.equal(t.lookup('.example.com'), undefined);
});

test('path matchers: prefix is a string prefix, exact, regex is a full match', () => {
  assert.ok(compilePath({ kind: 'prefix', value: '/foo' })(view('/foobar')));
  assert.ok(!compilePath({ kind: 'prefix', value: '/foo' })(view('/fo')));
  assert.ok(compilePath({ kind: 'exact', value: '/a' })(view('/a')));
  assert.ok(!compilePath({ kind: 'exact', value: '/a' })(view('/a/')));
  assert.ok(compilePath({ kind: 'regex', value: '/v[0-9]+' })(view('/v12')));
  assert.ok(!compilePath({ kind: 'regex', value: '/v[0-9]+' })(view('/v12/x')));
});

test('header matchers, including missing headers and treatMissingAsEmpty', () => {
  const h = { 'x-a': 'Hello World' };
  const m = (kind: string, extra = {}) => compileHeader({ name: 'X-A', kind: kind as 'exact', value: 'hello', ...extra });
  assert.ok(m('present')(view('/', h)));
  assert.ok(!m('notpresent')(view('/', h)));
  assert.ok(m('contains', { value: 'World' })(view('/', h)));
  assert.ok(!m('contains')(view('/', h)));
  assert.ok(m('contains', { ignoreCase: true })(view('/', h)));
  assert.ok(m('exact', { value: 'hello world', ignoreCase: true })(view('/', h)));
  assert.ok(m('notexact')(view('/', h)));
  assert.ok(!m('notexact')(view('/')), 'missing header does not match notexact');
  assert.ok(m('notexact', { treatMissingAsEmpty: true })(view('/')));
  assert.ok(m('notcontains', { treatMissingAsEmpty: true })(view('/')));
  assert.ok(m('regex', { value: 'Hello.*' })(view('/', h)));
  assert.ok(!m('regex', { value: 'Hello' })(view('/', h)));
});

test('query matchers use the first value, decoded', () => {
  assert.equal(queryParam('a=1&b=x%20y&a=2', 'a'), '1');
  assert.equal(queryParam('a=1&b=x%20y', 'b'), 'x y');
  assert.equal(queryParam('flag&x=1', 'flag'), '');
  assert.equal(queryParam('x=1', 'y'), undefined);
  assert.equal(queryParam('bad=%zz', 'bad'), '%zz');
  const q = (kind: string, value?: string, ignoreCase?: boolean) =>
    compileQuery({ name: 'v', kind: kind as 'exact', ...(value !== undefined ? { value } : {}), ...(ignoreCase ? { ignoreCase } : {}) });
  assert.ok(q('exact', 'Two')(view('/', {}, 'v=Two')));
  assert.ok(q('exact', 'two', true)(view('/', {}, 'v=Two')));
  assert.ok(q('prefix', 'Tw')(view('/', {}, 'v=Two')));
  assert.ok(q('suffix', 'wo')(view('/', {}, 'v=Two')));
  assert.ok(q('contains', 'w')(view('/', {}, 'v=Two')));
  assert.ok(q('present')(view('/', {}, 'v')));
  assert.ok(!q('present')(view('/', {}, 'w=1')));
  assert.ok(q('regex', 'T.o')(view('/', {}, 'v=Two')));
});

test('property: queryParam never throws', () => {
  fc.assert(fc.property(fc.string(), fc.string(), (qs, name) => void queryParam(qs, name)));
});

const conn = { listener: 'http', peerAddress: '10.0.0.1', clientAddress: '10.0.0.1', clientPort: 5, https: false, remote: '10.0.0.1:5', localAddress: '192.0.2.7', localPort: 8080 };
const ctx: OpContext = {
  header: (n) => ({ 'x-user': 'alice', 'x-evil': 'a\r\nb', 'x-long': 'abcdefgh', ':authority': 'a.test' })[n],
  clientAddress: '10.0.0.1',
  clientPort: 5,
  conn,
  protocol: 'HTTP/1.1',
  upstreamAddress: '10.1.1.1:80',
  flags: '-',
  codeDetails: 'via_upstream',
};

/** The value a header policy sets, as a request (or response) would get it. */
function policyValue(value: string, phase: 'request' | 'response' = 'request'): (c: OpContext) => string | undefined {
  const ops = compileHeaderOps({ set: [{ name: 'x-v', value }], remove: [] }, phase);
  return (c) => {
    const out: Record<string, string> = {};
    applyToObject(out, ops, c);
    return out['x-v'];
  };
}

test('header values: variables are substituted; CR/LF from requests never injected', () => {
  // %CONTOUR_*% are the dag's to expand: what is left of them is literal.
  assert.equal(policyValue('%REQ(X-User)%@%CONTOUR_SERVICE_NAME%')(ctx), 'alice@%CONTOUR_SERVICE_NAME%');
  assert.equal(policyValue('%DOWNSTREAM_REMOTE_ADDRESS%')(ctx), '10.0.0.1:5');
  assert.equal(policyValue('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%')(ctx), '10.0.0.1');
  assert.equal(policyValue('%DOWNSTREAM_REMOTE_ADDRESS%')({ ...ctx, clientAddress: '2001:db8::1' }), '[2001:db8::1]:5');
  assert.equal(policyValue('%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%')(ctx), '192.0.2.7:8080 192.0.2.7 8080');
  assert.equal(policyValue('%PROTOCOL%')(ctx), 'HTTP/1.1');
  assert.equal(policyValue('%HOSTNAME%')(ctx), hostname());
  assert.equal(policyValue('%UNKNOWN% 100%')(ctx), '%UNKNOWN% 100%');
  // A % that opens nothing is literal and scanning goes on after it.
  assert.equal(policyValue('%FOO%PROTOCOL%')(ctx), '%FOOHTTP/1.1');
  assert.equal(policyValue('%%PROTOCOL%%')(ctx), '%HTTP/1.1%');
  assert.equal(policyValue('%PROTOCOL%%PROTOCOL%')(ctx), 'HTTP/1.1HTTP/1.1');
  // %REQ()%: an alternative, a length, pseudo-headers.
  assert.equal(policyValue('%REQ(x-missing?x-user)%')(ctx), 'alice');
  assert.equal(policyValue('%REQ(x-long):3%')(ctx), 'abc');
  assert.equal(policyValue('%REQ(:authority)%')(ctx), 'a.test');
  assert.equal(policyValue('%REQ(bad header)%')(ctx), '%REQ(bad header)%');
  // Nothing to expand: the header is not set (Envoy drops empty values).
  assert.equal(policyValue('%REQ(missing)%')(ctx), undefined);
  assert.equal(policyValue('%DOWNSTREAM_PEER_SUBJECT%')(ctx), undefined);
  assert.equal(policyValue('%DOWNSTREAM_TLS_VERSION%')(ctx), undefined);
  assert.equal(policyValue('%TLS_JA3_FINGERPRINT%')(ctx), undefined);
  // Upstream facts exist on responses only; on requests Envoy leaves the name.
  assert.equal(policyValue('%UPSTREAM_REMOTE_ADDRESS%')(ctx), '%UPSTREAM_REMOTE_ADDRESS%');
  assert.equal(policyValue('%UPSTREAM_REMOTE_ADDRESS%', 'response')(ctx), '10.1.1.1:80');
  assert.equal(policyValue('%RESPONSE_FLAGS%|%RESPONSE_CODE_DETAILS%', 'response')(ctx), '-|via_upstream');
  assert.equal(policyValue('%RESPONSE_FLAGS%|%RESPONSE_CODE_DETAILS%')(ctx), '-|');
  const ops = compileHeaderOps({ set: [{ name: 'X-Injected', value: '%REQ(x-evil)%' }, { name: 'X-Ok', value: 'y' }], remove: ['X-Gone'] });
  const list = applyToList(['x-gone', '1', 'x-ok', 'old', 'keep', 'k', 'x-injected', 'was'], ops, ctx);
  assert.deepEqual(list, ['keep', 'k', 'x-injected', 'was', 'x-ok', 'y']);
  const obj: Record<string, string> = { 'x-gone': '1', 'x-ok': 'old' };
  applyToObject(obj, ops, ctx);
  assert.deepEqual(obj, { 'x-ok': 'y' });
  // A set whose value is empty leaves what was there (Envoy skips it).
  const empty = compileHeaderOps({ set: [{ name: 'x-e', value: '%REQ(missing)%' }], remove: [] });
  assert.deepEqual(applyToList(['x-e', 'client'], empty, ctx), ['x-e', 'client']);
  // Gateway API add values expand variables too.
  const add = compileHeaderOps({ set: [], remove: [], add: [{ name: 'x-a', value: '%REQ(x-user)%' }] });
  assert.deepEqual(applyToList(['x-a', '1'], add, ctx), ['x-a', '1', 'x-a', 'alice']);
});

test('affinity cookie parsing', () => {
  assert.equal(affinityCookie('a=1; X-Contour-Session-Affinity=abc; b=2'), 'abc');
  assert.equal(affinityCookie('X-Contour-Session-Affinity=abc'), 'abc');
  assert.equal(affinityCookie('NotX-Contour-Session-Affinity=abc'), undefined);
  assert.equal(affinityCookie('X-Contour-Session-Affinity='), undefined);
  assert.equal(affinityCookie(undefined), undefined);
});

test('hash keys: header, query, source ip, terminal', () => {
  const input = { header: (n: string) => (n === 'x-a' ? 'A' : undefined), query: 'q=Q', clientAddress: '1.2.3.4' };
  assert.equal(hashKey([{ header: 'X-A' }], input), 'A');
  assert.equal(hashKey([{ header: 'X-Missing' }, { queryParameter: 'q' }], input), 'Q');
  assert.equal(hashKey([{ sourceIp: true }], input), '1.2.3.4');
  assert.equal(hashKey([{ header: 'x-a', terminal: true }, { sourceIp: true }], input), 'A');
  assert.equal(hashKey([{ header: 'x-missing' }], input), undefined);
});

test('rendezvous hashing moves only the keys of a removed endpoint', () => {
  const byCookie = new LoadBalancer<{ key: string; active: number }>('Cookie', []);
  const pick = (list: { key: string; active: number }[], key: string) => byCookie.pick(list, undefined, key);
  const eps = ['a', 'b', 'c', 'd'].map((key) => ({ key, active: 0 }));
  const without = eps.filter((e) => e.key !== 'c');
  let moved = 0;
  for (let i = 0; i < 1000; i++) {
    const before = pick(eps, `k${i}`).key;
    const after = pick(without, `k${i}`).key;
    if (before !== 'c') assert.equal(after, before);
    else moved++;
  }
  assert.ok(moved > 150 && moved < 350, `moved ${moved}`);
});

test('least request prefers the idler endpoint of two', () => {
  const lb = new LoadBalancer<{ key: string; active: number }>('WeightedLeastRequest', []);
  const busy = { key: 'busy', active: 100 };
  const idle = { key: 'idle', active: 0 };
  let idleHits = 0;
  for (let i = 0; i < 1000; i++) if (lb.pick([busy, idle], undefined, undefined) === idle) idleHits++;
  assert.ok(idleHits > 700, `${idleHits}`);
});

test('DNS SAN matching: exact, case-insensitive, one-label certificate wildcard, no IP/CN', () => {
  assert.ok(dnsSanMatches(['backend.example.test'], ['backend.example.test']));
  assert.ok(dnsSanMatches(['Backend.Example.Test'], ['backend.example.test']));
  assert.ok(dnsSanMatches(['*.example.test'], ['backend.example.test']));
  assert.ok(!dnsSanMatches(['*.example.test'], ['a.backend.example.test']));
  assert.ok(!dnsSanMatches(['other.example.test'], ['backend.example.test']));
  assert.ok(!dnsSanMatches([], ['backend.example.test']));
  assert.ok(dnsSanMatches(['x', 'y.test'], ['nope', 'y.test']));
});

test('redirect locations', () => {
  const base = { scheme: 'http' as const, host: 'a.test', port: '8080', path: '/p/x', query: 'q=1', matchedPrefix: '/p' };
  assert.equal(httpsRedirectLocation(base), 'https://a.test/p/x?q=1');
  assert.equal(redirectLocation({ kind: 'redirect', statusCode: 301, scheme: 'https' }, base), 'https://a.test/p/x?q=1');
  assert.equal(redirectLocation({ kind: 'redirect', statusCode: 302 }, base), 'http://a.test:8080/p/x?q=1');
  assert.equal(redirectLocation({ kind: 'redirect', statusCode: 302, hostname: 'b.test', port: 9000 }, base), 'http://b.test:9000/p/x?q=1');
  assert.equal(redirectLocation({ kind: 'redirect', statusCode: 302, path: '/new' }, base), 'http://a.test:8080/new?q=1');
  assert.equal(redirectLocation({ kind: 'redirect', statusCode: 302, prefix: '/q' }, base), 'http://a.test:8080/q/x?q=1');
  assert.equal(authorityPort('[::1]:80'), '80');
  assert.equal(authorityPort('a.test'), undefined);
});

test('hop-by-hop: Connection-listed names are dropped from responses', () => {
  assert.equal(connectionTokens('keep-alive'), undefined);
  assert.deepEqual([...(connectionTokens('close, X-Foo ,x-bar') ?? [])], ['x-foo', 'x-bar']);
  const out = filterResponseHeaders({ connection: 'x-foo', 'x-foo': '1', 'keep-alive': 't', 'transfer-encoding': 'chunked', 'content-type': 'a' });
  assert.deepEqual(out, { 'content-type': 'a' });
});

test('RE2 spellings are translated: leading (?i), named groups (?P<n>)', async () => {
  const regexMatches = (value: string, path: string) => compilePath({ kind: 'regex', value })({ path, query: '', header: () => undefined });
  assert.ok(regexMatches('(?i)/ABC', '/abc'));
  assert.ok(regexMatches('/(?P<id>[0-9]+)', '/42'));
  assert.ok(!regexMatches('/a', '/a/b'));
});

test('a route JavaScript cannot compile is left out; its vhost keeps its other routes', async () => {
  const warnings: string[] = [];
  const NO = { set: [], remove: [] };
  const mk = (path: { kind: 'regex' | 'prefix'; value: string }) => ({
    path,
    headers: [],
    queryParams: [],
    action: { kind: 'direct' as const, statusCode: 200 },
    requestHeaders: NO,
    responseHeaders: NO,
    websocket: false,
    timeouts: { responseMs: null, idleMs: null },
    origin: { namespace: 'd', name: 'p' },
  });
  const t = new RouteTableCompiler().compile(
    { httpVirtualHosts: [{ fqdn: 'a.test', routes: [mk({ kind: 'regex', value: '/(unclosed' }), mk({ kind: 'prefix', value: '/' })] }], httpsVirtualHosts: [], clusters: [], secrets: [], caBundles: [] },
    new Map(),
    (fqdn, m) => warnings.push(`${fqdn}: ${m}`),
  );
  assert.equal(t.http.lookup('a.test')!.routes.length, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^a\.test: route .*unclosed.* not served: /);
});

test('retry policy: statuses and failures per retryOn', () => {
  const p = (retryOn: string[], codes: number[] = []) => ({ retryOn, count: 1, perTryTimeoutMs: null, retriableStatusCodes: codes });
  const s = (policy: ReturnType<typeof p> | undefined, status: number, headers: Record<string, string> = {}) => retriableResponse(policy, status, headers);
  assert.ok(s(p(['5xx']), 500));
  assert.ok(!s(p(['5xx']), 499));
  assert.ok(s(p(['gateway-error']), 503));
  assert.ok(!s(p(['gateway-error']), 500));
  assert.ok(s(p(['retriable-4xx']), 409));
  assert.ok(!s(p(['retriable-4xx']), 404));
  assert.ok(s(p(['retriable-status-codes'], [418]), 418));
  assert.ok(!s(p(['retriable-status-codes'], [418]), 503));
  assert.ok(!s(undefined, 503));
  // An upstream Envoy's rate limit: only envoy-ratelimited retries it, not even 5xx.
  assert.ok(s(p(['envoy-ratelimited']), 429, { 'x-envoy-ratelimited': 'true' }));
  assert.ok(!s(p(['envoy-ratelimited']), 429));
  assert.ok(!s(p(['5xx']), 503, { 'x-envoy-ratelimited': 'true' }));
  // An overloaded upstream is never retried.
  assert.ok(!s(p(['5xx']), 503, { 'x-envoy-overloaded': 'true' }));
  // gRPC conditions read grpc-status from the headers (a trailers-only answer).
  const grpc: [string, string][] = [['cancelled', '1'], ['deadline-exceeded', '4'], ['resource-exhausted', '8'], ['internal', '13'], ['unavailable', '14']];
  for (const [name, code] of grpc) {
    assert.ok(s(p([name]), 200, { 'grpc-status': code }), name);
    assert.ok(!s(p([name]), 200, { 'grpc-status': '2' }), `${name} vs UNKNOWN`);
    assert.ok(!s(p([name]), 200), `${name} without grpc-status`);
    for (const [other, otherCode] of grpc) if (other !== name) assert.ok(!s(p([name]), 200, { 'grpc-status': otherCode }), `${name} vs ${other}`);
  }
  // Conditions Contour configures nothing for: they match no response.
  for (const name of ['retriable-headers', 'http3-post-connect-failure', 'reset', 'connect-failure', 'reset-before-request', 'refused-stream']) {
    assert.ok(!s(p([name]), 503, { 'grpc-status': '14' }), name);
  }
  assert.ok(retriableFailure(p(['connect-failure']), 'connect-failure'));
  assert.ok(!retriableFailure(p(['connect-failure']), 'reset'));
  assert.ok(retriableFailure(p(['reset-before-request']), 'connect-failure'));
  assert.ok(!retriableFailure(p(['reset-before-request']), 'reset'));
  assert.ok(!retriableFailure(p(['reset-before-request']), 'refused-stream'));
  assert.ok(retriableFailure(p(['5xx']), 'reset'));
  assert.ok(retriableFailure(p(['gateway-error']), 'per-try-timeout'));
  assert.ok(retriableFailure(p(['reset']), 'connect-failure'));
  assert.ok(retriableFailure(p(['refused-stream']), 'refused-stream'));
  assert.ok(!retriableFailure(p(['refused-stream']), 'reset'));
  assert.ok(!retriableFailure(p(['retriable-4xx']), 'per-try-timeout'));
  for (const name of ['envoy-ratelimited', 'retriable-headers', 'http3-post-connect-failure', 'unavailable', 'retriable-status-codes']) {
    for (const kind of ['connect-failure', 'reset', 'refused-stream', 'per-try-timeout'] as const) assert.ok(!retriableFailure(p([name]), kind), `${name} ${kind}`);
  }
  for (let n = 1; n < 10; n++) assert.ok(backoffMs(n) >= 0 && backoffMs(n) < 25 * 16);
});
