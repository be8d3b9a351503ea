// Which host a request is for, and which fields reach the upstream:
// - an absolute-form target routes by its authority, which replaces Host
//   (RFC 9112 §3.2.2, as Envoy); it used to be routed by Host;
// - two Host fields are refused (RFC 9112 §3.2); the first used to win;
// - a second line of a field node:http keeps one of (Authorization,
//   Content-Type, ...) is refused; it used to be dropped silently, so a
//   check behind the edge reading the other copy was bypassed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

let upstream: RawUpstream;
let p: Started;

before(async () => {
  upstream = await rawUpstream();
  const clusters = [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])];
  p = await startProxy(config({ clusters, httpVirtualHosts: [vhost('other.test', [route({ to: 'app' })])] }));
});

after(async () => {
  await p.close();
  await upstream.close();
});

test('absolute form: routed by the target\'s authority, which the upstream gets as Host', async () => {
  upstream.reset();
  const r = await wire(p.port(), 'GET http://other.test/x?y=1 HTTP/1.1\r\nHost: probe.test\r\nConnection: close\r\n\r\n');
  assert.deepEqual(r.responses.map((x) => x.status), [200]);
  assert.equal(upstream.requests.length, 1);
  const got = upstream.requests[0]!;
  assert.equal(got.target, '/x?y=1');
  assert.deepEqual(upstream.field(got, 'host'), ['other.test']);
});

test('absolute form naming a host that is not served: 404, even when Host names one that is', async () => {
  upstream.reset();
  const r = await wire(p.port(), 'GET http://probe.test/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n');
  assert.deepEqual(r.responses.map((x) => x.status), [404]);
  assert.deepEqual(upstream.requests, []);
});

for (const target of ['ftp://other.test/x', 'ws://other.test/x', 'http:///x', 'http://user@other.test/x']) {
  test(`absolute form ${target}: 400, closed`, async () => {
    upstream.reset();
    const r = await wire(p.port(), `GET ${target} HTTP/1.1\r\nHost: other.test\r\n\r\n`);
    assert.deepEqual(r.responses.map((x) => x.status), [400]);
    assert.equal(r.closed, true);
    assert.deepEqual(upstream.requests, []);
  });
}

for (const [name, hosts] of [
  ['two identical Host fields', ['other.test', 'other.test']],
  ['two different Host fields', ['other.test', 'probe.test']],
  ['two different Host fields, the served one second', ['probe.test', 'other.test']],
] as const) {
  test(`${name}: 400, closed, nothing upstream`, async () => {
    upstream.reset();
    const r = await wire(p.port(), `GET / HTTP/1.1\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}\r\n`);
    assert.deepEqual(r.responses.map((x) => x.status), [400]);
    assert.equal(r.closed, true);
    assert.deepEqual(upstream.requests, []);
  });
}

for (const [field, a, b] of [
  ['Authorization', 'Bearer allowed', 'Bearer other'],
  ['Content-Type', 'text/plain', 'application/x-www-form-urlencoded'],
  ['User-Agent', 'a', 'b'],
  ['Referer', 'http://a/', 'http://b/'],
  ['Proxy-Authorization', 'Basic YTpi', 'Basic Yzpk'],
] as const) {
  test(`two ${field} fields: 400, nothing upstream; one is forwarded as sent`, async () => {
    upstream.reset();
    const r = await wire(p.port(), `POST / HTTP/1.1\r\nHost: other.test\r\n${field}: ${a}\r\n${field}: ${b}\r\nContent-Length: 0\r\n\r\n`);
    assert.deepEqual(r.responses.map((x) => x.status), [400]);
    assert.equal(r.closed, true);
    assert.deepEqual(upstream.requests, []);
    const one = await wire(p.port(), `POST / HTTP/1.1\r\nHost: other.test\r\n${field}: ${a}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(one.responses.map((x) => x.status), [200]);
    assert.deepEqual(upstream.field(upstream.requests[0]!, field.toLowerCase()), [a]);
  });
}

test('a repeated singleton is found among other repeats and in any case; repeats of other fields pass', async () => {
  upstream.reset();
  const mixed = await wire(p.port(), `GET / HTTP/1.1\r\nHost: other.test\r\nX-A: 1\r\nx-a: 2\r\nauthorization: a\r\nAUTHORIZATION: b\r\n\r\n`);
  assert.deepEqual(mixed.responses.map((x) => x.status), [400]);
  assert.deepEqual(upstream.requests, []);
  const others = await wire(p.port(), `GET / HTTP/1.1\r\nHost: other.test\r\nX-A: 1\r\nx-a: 2\r\nAccept: a\r\naccept: b\r\nConnection: close\r\n\r\n`);
  assert.deepEqual(others.responses.map((x) => x.status), [200]);
  assert.equal(upstream.requests.length, 1);
});
