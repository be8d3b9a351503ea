// `Upgrade: h2c` on the HTTP listener: served as the HTTP/1.1 request it
// also is, with Upgrade, HTTP2-Settings and the Connection tokens naming
// them dropped, as Envoy's HTTP/1 codec does; `curl --http2 http://...`
// works. node:http parses nothing after such a request, so its response
// closes the connection (Envoy would go on reading). Other upgrades stay upgrades (a route without websockets refuses).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

let upstream: RawUpstream;
let p: Started;

before(async () => {
  upstream = await rawUpstream();
  p = await startProxy(config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }));
});

after(async () => {
  await p.close();
  await upstream.close();
});

test('an h2c upgrade request is served as HTTP/1.1, its upgrade headers dropped upstream', async () => {
  upstream.reset();
  const r = await wire(p.port(), 'GET /h2c HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n');
  assert.deepEqual(r.responses.map((x) => x.status), [200]);
  assert.equal(r.closed, true, 'then the connection closes');
  assert.equal(upstream.requests.length, 1);
  const first = upstream.requests[0]!;
  assert.equal(first.target, '/h2c');
  for (const name of ['upgrade', 'http2-settings']) assert.deepEqual(upstream.field(first, name), [], name);
  assert.deepEqual(upstream.field(first, 'connection'), ['keep-alive'], "the proxy's own, not the client's tokens");
});

test('another upgrade on a route without websockets is still refused', async () => {
  const r = await wire(p.port(), 'GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.equal(r.responses[0]?.status, 403);
});
