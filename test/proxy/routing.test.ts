import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, wc, type Backend, type Started } from './fixtures.ts';
import http from 'node:http';

let a: Backend;
let b: Backend;
let c: Backend;
let p: Started;

before(async () => {
  a = await httpBackend('a');
  b = await httpBackend('b');
  c = await httpBackend('c');
  p = await startProxy(
    config({
      clusters: [cluster('a', [ep(a)]), cluster('b', [ep(b)]), cluster('c', [ep(c)])],
      httpVirtualHosts: [
        vhost('app.example.test', [
          route({ path: { kind: 'exact', value: '/exact' }, to: 'c' }),
          route({ path: { kind: 'regex', value: '/re/[0-9]+' }, to: 'c' }),
          route({ path: { kind: 'prefix', value: '/api' }, headers: [{ name: 'x-canary', kind: 'exact', value: 'yes' }], to: 'b' }),
          route({ path: { kind: 'prefix', value: '/api' }, queryParams: [{ name: 'v', kind: 'exact', value: '2' }], to: 'b' }),
          route({ path: { kind: 'prefix', value: '/api' }, to: 'a', prefixRewrite: '/v1' }),
          route({ path: { kind: 'prefix', value: '/moved' }, action: { kind: 'redirect', hostname: 'new.example.test', statusCode: 302 } }),
          route({ path: { kind: 'prefix', value: '/gone' }, action: { kind: 'direct', statusCode: 503 } }),
          route({ path: { kind: 'prefix', value: '/secure' }, to: 'a', httpsRedirect: true }),
          route({
            path: { kind: 'prefix', value: '/ops' },
            to: [wc('a', 1, { requestHeaders: { set: [{ name: 'X-Svc', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %PROTOCOL% %CONTOUR_SERVICE_NAME%' }], remove: [] }, responseHeaders: NO_RESP })],
            requestHeaders: { set: [{ name: 'X-From-Req', value: 'ua=%REQ(user-agent)%' }], remove: ['x-drop-me'] },
            responseHeaders: { set: [{ name: 'X-Resp', value: 'added' }], remove: ['x-backend'] },
            hostRewrite: { literal: 'rewritten.internal' },
          }),
          route({ path: { kind: 'prefix', value: '/svchost' }, to: [wc('a', 1, { hostRewrite: 'svc.internal' })], hostRewrite: { literal: 'route.internal' } }),
          route({ path: { kind: 'prefix', value: '/dynhost' }, to: 'a', hostRewrite: { fromHeader: 'X-Target-Host' } }),
          route({ path: { kind: 'prefix', value: '/' }, to: 'a' }),
        ]),
        vhost('*.wild.test', [route({ to: 'b' })]),
      ],
    }),
  );
});
const NO_RESP = { set: [], remove: [] };

after(async () => {
  await p.close();
  await Promise.all([a.close(), b.close(), c.close()]);
});

function backendOf(body: string): string {
  return (JSON.parse(body) as { backend: string }).backend;
}

test('routes by host and forwards to the cluster endpoint', async () => {
  const r = await get(p.port(), '/hello?x=1', { host: 'app.example.test' });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { backend: string; url: string; headers: Record<string, string> };
  assert.equal(seen.backend, 'a');
  assert.equal(seen.url, '/hello?x=1');
  assert.equal(seen.headers.host, 'app.example.test');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  // Loopback with no X-Forwarded-For: an internal request, as Envoy says.
  assert.equal(seen.headers['x-envoy-internal'], 'true');
  assert.equal(seen.headers['x-envoy-external-address'], undefined);
  assert.match(seen.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
});

test('host matching ignores case and port; unknown host is 404', async () => {
  assert.equal(backendOf((await get(p.port(), '/', { host: 'APP.Example.Test:8080' })).body), 'a');
  const r = await get(p.port(), '/', { host: 'nobody.example.test' });
  assert.equal(r.status, 404);
  assert.equal(p.logs.at(-1)!.responseFlags, 'NR');
});

test('wildcard vhost covers exactly one label', async () => {
  assert.equal(backendOf((await get(p.port(), '/', { host: 'x.wild.test' })).body), 'b');
  assert.equal((await get(p.port(), '/', { host: 'a.b.wild.test' })).status, 404);
  assert.equal((await get(p.port(), '/', { host: 'wild.test' })).status, 404);
});

test('route precedence follows config order: exact, regex, header, query, prefix', async () => {
  const h = { host: 'app.example.test' };
  assert.equal(backendOf((await get(p.port(), '/exact', h)).body), 'c');
  assert.equal(backendOf((await get(p.port(), '/exact/more', h)).body), 'a');
  assert.equal(backendOf((await get(p.port(), '/re/123', h)).body), 'c');
  assert.equal(backendOf((await get(p.port(), '/re/12x', h)).body), 'a');
  assert.equal(backendOf((await get(p.port(), '/api/x', { ...h, 'x-canary': 'yes' })).body), 'b');
  assert.equal(backendOf((await get(p.port(), '/api/x', { ...h, 'x-canary': 'no' })).body), 'a');
  assert.equal(backendOf((await get(p.port(), '/api/x?v=2', h)).body), 'b');
  assert.equal(backendOf((await get(p.port(), '/api/x?v=3', h)).body), 'a');
});

test('prefix rewrite replaces the matched prefix', async () => {
  const r = await get(p.port(), '/api/items?q=1', { host: 'app.example.test' });
  assert.equal((JSON.parse(r.body) as { url: string }).url, '/v1/items?q=1');
});

test('dot segments are normalised before routing', async () => {
  const r = await get(p.port(), '/api/../exact', { host: 'app.example.test' });
  assert.equal(backendOf(r.body), 'c');
});

test('redirect, direct response and https redirect are answered locally', async () => {
  const h = { host: 'app.example.test' };
  const r1 = await get(p.port(), '/moved/x?y=1', h);
  assert.equal(r1.status, 302);
  assert.equal(r1.headers.location, 'http://new.example.test/moved/x?y=1');
  const r2 = await get(p.port(), '/gone', h);
  assert.equal(r2.status, 503);
  const r3 = await get(p.port(), '/secure/page?a=b', { host: 'app.example.test:8080' });
  assert.equal(r3.status, 301);
  assert.equal(r3.headers.location, 'https://app.example.test/secure/page?a=b');
  assert.equal(a.seen.filter((s) => s.url.startsWith('/secure')).length, 0);
});

test('header policies, variables and host rewrite', async () => {
  const r = await get(p.port(), '/ops', { host: 'app.example.test', 'user-agent': 'tester/1', 'x-drop-me': '1' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-resp'], 'added');
  assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
  assert.equal(r.headers['x-backend'], undefined);
  const seen = JSON.parse(r.body) as { headers: Record<string, string> };
  // %CONTOUR_*% are the dag's to expand (test/dag): the runtime leaves them.
  assert.equal(seen.headers['x-svc'], '127.0.0.1 HTTP/1.1 %CONTOUR_SERVICE_NAME%');
  assert.equal(seen.headers['x-from-req'], 'ua=tester/1');
  assert.equal(seen.headers['x-drop-me'], undefined);
  assert.equal(seen.headers.host, 'rewritten.internal');
});

test('hop-by-hop headers are removed; XFF is appended; client request id kept', async () => {
  const r = await get(p.port(), '/', {
    host: 'app.example.test',
    connection: 'keep-alive, x-secret-hop',
    'x-secret-hop': 'no',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'keep-alive',
    te: 'trailers, deflate',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
    'x-request-id': 'abc-123',
    'x-envoy-retry-on': '5xx',
    'x-envoy-external-address': '6.6.6.6',
  });
  const seen = JSON.parse(r.body) as { headers: Record<string, string> };
  assert.equal(seen.headers['x-secret-hop'], undefined);
  assert.equal(seen.headers['keep-alive'], undefined);
  assert.equal(seen.headers['proxy-connection'], undefined);
  assert.equal(seen.headers.te, 'trailers');
  assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-request-id'], 'abc-123');
  assert.equal(seen.headers['x-envoy-retry-on'], undefined);
  assert.equal(seen.headers['x-envoy-external-address'], '127.0.0.1');
});

test('request bodies are streamed to the upstream', async () => {
  const body = 'x'.repeat(200_000);
  const r = await get(p.port(), '/upload', { host: 'app.example.test', 'content-type': 'text/plain' }, 'POST', body);
  assert.equal(r.status, 200);
  assert.equal(a.seen.at(-1)!.body.length, body.length);
  assert.equal(a.seen.at(-1)!.method, 'POST');
  assert.equal(p.logs.findLast((l) => l.path === '/upload')!.bytesReceived, body.length);
});

test('access log entries carry Envoy fields', async () => {
  await get(p.port(), '/logged', { host: 'app.example.test', 'user-agent': 'ua-x' });
  const e = p.logs.findLast((l) => l.path === '/logged')!;
  assert.equal(e.status, 200);
  assert.equal(e.method, 'GET');
  assert.equal(e.protocol, 'HTTP/1.1');
  assert.equal(e.upstreamCluster, 'a');
  assert.equal(e.upstreamHost, `127.0.0.1:${a.port}`);
  assert.equal(e.userAgent, 'ua-x');
  assert.equal(e.listener, 'http');
  assert.equal(e.responseFlags, '-');
  assert.ok(e.bytesSent > 0);
});

test('stats count requests', () => {
  const s = p.proxy.stats();
  assert.ok(s.requests! > 10);
  assert.ok(s.noRoute! >= 1);
});

test('host rewrite: service-level literal beats the route; dynamic from a request header', async () => {
  const r1 = await get(p.port(), '/svchost', { host: 'app.example.test' });
  assert.equal((JSON.parse(r1.body) as { headers: Record<string, string> }).headers.host, 'svc.internal');
  const r2 = await get(p.port(), '/dynhost', { host: 'app.example.test', 'x-target-host': 'dyn.internal' });
  assert.equal((JSON.parse(r2.body) as { headers: Record<string, string> }).headers.host, 'dyn.internal');
  const r3 = await get(p.port(), '/dynhost', { host: 'app.example.test' });
  assert.equal((JSON.parse(r3.body) as { headers: Record<string, string> }).headers.host, 'app.example.test');
});

test('chunked request bodies pass through and are counted in the access log', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p.port(), path: '/chunked', method: 'POST', headers: { host: 'app.example.test' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write('a'.repeat(1000));
    setImmediate(() => {
      req.write('b'.repeat(2000));
      req.end();
    });
  });
  assert.equal(status, 200);
  const seen = a.seen.findLast((s) => s.url === '/chunked')!;
  // The upstream framing may be chunked or, when the body was complete before
  // it was sent, a Content-Length: either way the same bytes.
  assert.equal(seen.body.length, 3000);
  assert.equal(p.logs.findLast((l) => l.path === '/chunked')!.bytesReceived, 3000);
});
