// What a client of the proxy sees when an HTTP/1.1 upstream answers badly:
// before the response headers, Envoy's 503 with response flag UC (the
// failure table's reset); after them, a response cut short. An upstream
// that answers with 1xx interim responses first is relayed its final one
// (undici, before isobar's client, failed such a request with 503). The
// malformed cases answer as they did with undici (checked against main).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { cluster, config, get, route, startProxy, vhost, type Started } from './fixtures.ts';

/** Path -> the raw bytes the upstream answers with (then it closes). */
const answers: Record<string, string> = {
  '/status': 'HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n',
  '/fold': 'HTTP/1.1 200 OK\r\nx: a\r\n b\r\ncontent-length: 0\r\n\r\n',
  '/cl-te': 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  '/cl-differ': 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd',
  '/chunk': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
  '/101': 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n',
  '/bare-lf': 'HTTP/1.1 200 OK\ncontent-length: 0\n\n',
  '/interim': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal',
  '/cut': 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc',
};

let upstream: net.Server;
let p: Started;

before(async () => {
  upstream = net.createServer((s) => {
    s.on('error', () => {});
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1] ?? '';
      s.end(answers[path] ?? 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as net.AddressInfo).port;
  p = await startProxy(config({ clusters: [cluster('app', [{ address: '127.0.0.1', port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }));
});

after(async () => {
  await p.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});

const TERMINATION = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';

for (const path of ['/status', '/fold', '/cl-te', '/cl-differ', '/101', '/bare-lf']) {
  test(`a malformed upstream response head (${path}): 503, Envoy's body, flag UC`, async () => {
    const before = p.logs.length;
    const r = await get(p.port(), path, { host: 'app.test' });
    assert.equal(r.status, 503);
    assert.equal(r.body, TERMINATION);
    const log = p.logs.slice(before).find((l) => l.path === path);
    assert.equal(log?.responseFlags, 'UC');
  });
}

test('a malformed chunk after the head: the response is cut short', async () => {
  const r = await get(p.port(), '/chunk', { host: 'app.test' }).then(
    () => 'complete',
    () => 'cut',
  );
  assert.equal(r, 'cut');
});

test('a body shorter than its Content-Length: the response is cut short, never complete', async () => {
  const r = await get(p.port(), '/cut', { host: 'app.test' }).then(
    (x) => `complete ${x.body}`,
    () => 'cut',
  );
  assert.equal(r, 'cut');
});

test('100 and 103 before the final response: the client gets the final one', async () => {
  const r = await get(p.port(), '/interim', { host: 'app.test' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'final');
});
