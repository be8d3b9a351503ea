// Message framing defects, on real sockets with an upstream that records
// every request it receives:
// - HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1 faulty framing) used to
//   be read as chunked and kept alive, so a second request in the same
//   bytes reached the upstream: refused with 400 and closed.
// - A whole request followed by bytes that do not parse (or by anything
//   after Connection: close / an HTTP/1.0 request) used to get only a 400
//   while the upstream ran the request: its response is delivered, then
//   the connection closes.
// - `Transfer-Encoding: gzip, chunked` used to be forwarded with the gzip
//   coding no longer declared: refused with 501.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

let upstream: RawUpstream;
let p: Started;

before(async () => {
  upstream = await rawUpstream({ delay: (r) => (r.target.includes('slow') ? 100 : 0) });
  p = await startProxy(config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }));
});

after(async () => {
  await p.close();
  await upstream.close();
});

const targets = (): string[] => upstream.requests.map((r) => `${r.method} ${r.target}`);
const SECOND = 'GET /second HTTP/1.1\r\nHost: app.test\r\n\r\n';

test('HTTP/1.0 keep-alive with Transfer-Encoding and a second request behind it: 400, closed, nothing upstream', async () => {
  upstream.reset();
  const r = await wire(p.port(), `POST /first HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SECOND}`);
  assert.deepEqual(r.responses.map((x) => x.status), [400]);
  assert.equal(r.closed, true);
  assert.deepEqual(targets(), []);
});

test('the same, the second request written after the refusal went out: never read', async () => {
  upstream.reset();
  const head = 'POST /first HTTP/1.0\r\nHost: app.test\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n';
  const r = await wire(p.port(), [head, `0\r\n\r\n${SECOND}`], { gapMs: 50 });
  assert.deepEqual(r.responses.map((x) => x.status), [400]);
  assert.equal(r.closed, true);
  assert.deepEqual(targets(), []);
});

for (const [name, first, tail] of [
  ['garbage after a keep-alive POST', 'POST /slow HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi', 'GARBAGE\r\n\r\n'],
  ['a request after Connection: close', 'POST /slow HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi', SECOND],
  ['garbage after Connection: close', 'POST /slow HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi', 'xx\r\n\r\n'],
  ['a request after an HTTP/1.0 request', 'POST /slow HTTP/1.0\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi', SECOND],
  ['a malformed request after a keep-alive POST', 'POST /slow HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi', 'GET / HTTP/1.1\r\nHost: app.test\r\nBad Header\r\n\r\n'],
] as const) {
  test(`${name}: the POST's own response is delivered, then the connection closes`, async () => {
    upstream.reset();
    const r = await wire(p.port(), `${first}${tail}`);
    assert.deepEqual(r.responses.map((x) => `${x.status} ${x.body}`), ['200 ok POST /slow']);
    assert.equal(r.closed, true);
    assert.equal(r.junk, '', 'nothing written after the response');
    assert.deepEqual(targets(), ['POST /slow']);
  });
}

test('the same bytes arriving later, while the response is still owed, change nothing', async () => {
  upstream.reset();
  const r = await wire(p.port(), ['POST /slow HTTP/1.1\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi', 'GARBAGE\r\n\r\n', 'MORE GARBAGE\r\n\r\n'], { gapMs: 20 });
  assert.deepEqual(r.responses.map((x) => x.status), [200]);
  assert.equal(r.closed, true);
  assert.equal(r.junk, '');
  assert.deepEqual(targets(), ['POST /slow']);
});

for (const te of ['gzip, chunked', 'deflate, chunked', 'gzip, identity, chunked']) {
  test(`Transfer-Encoding: ${te}: 501, closed, nothing upstream`, async () => {
    upstream.reset();
    const r = await wire(p.port(), `POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: ${te}\r\n\r\n1\r\na\r\n0\r\n\r\n`);
    assert.deepEqual(r.responses.map((x) => x.status), [501]);
    assert.equal(r.closed, true);
    assert.deepEqual(targets(), []);
  });
}
