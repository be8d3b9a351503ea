// isobar's own HTTP/1.1 server on the proxy's listener, on real sockets
// against a recording upstream: a long pipeline of bodiless requests, the
// hand-off to node:http at the first request with a body (and back to
// nothing: node:http keeps the connection), a head split over two writes,
// a client's FIN while a response is owed, and the keep-alive idle timeout.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { wire } from './http1-wire.ts';
import { rawUpstream, type RawUpstream } from './raw-upstream.ts';

const IDLE_MS = 300;
let upstream: RawUpstream;
let p: Started;

before(async () => {
  upstream = await rawUpstream({ delay: (r) => (r.target.includes('slow') ? 300 : 0) });
  p = await startProxy(
    config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] }),
    [{}],
    { downstream: { connectionIdleTimeoutMs: IDLE_MS } },
  );
});

after(async () => {
  await p.close();
  await upstream.close();
});

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: app.test\r\n${extra}\r\n`;
const targets = (): string[] => upstream.requests.map((r) => `${r.method} ${r.target}${r.body ? ` ${r.body}` : ''}`);

test('600 requests pipelined in one write, more than one read holds: every one answered, in order, the connection kept', async () => {
  upstream.reset();
  const n = 600;
  const path = (i: number): string => `/p${i}?${'x'.repeat(100)}`;
  const bytes = Array.from({ length: n }, (_, i) => get(path(i))).join('');
  assert.ok(bytes.length > 64 * 1024);
  const r = await wire(p.port(), bytes, { expect: n, probe: get('/probe'), timeoutMs: 20_000 });
  assert.equal(r.responses.length, n);
  assert.ok(r.responses.every((x) => x.status === 200));
  assert.equal(r.probed, true);
  assert.deepEqual(targets(), [...Array.from({ length: n }, (_, i) => `GET ${path(i)}`), 'GET /probe']);
});

test('a request with a body behind bodiless ones: node:http takes the connection over and serves it and the rest', async () => {
  upstream.reset();
  const conn = net.connect(p.port(), '127.0.0.1');
  const received: Buffer[] = [];
  conn.on('data', (d: Buffer) => received.push(d));
  const responses = async (n: number): Promise<string> => {
    for (let i = 0; i < 100; i++) {
      const text = Buffer.concat(received).toString('latin1');
      if ((text.match(/HTTP\/1\.1 200/g) ?? []).length >= n) return text;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`fewer than ${n} responses: ${Buffer.concat(received).toString('latin1')}`);
  };
  await new Promise<void>((r) => conn.once('connect', r));
  conn.write(get('/one'));
  await responses(1);
  conn.write('POST /two HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello');
  await responses(2);
  conn.write(get('/three'));
  const text = await responses(3);
  conn.destroy();
  assert.deepEqual(targets(), ['GET /one', 'POST /two hello', 'GET /three']);
  assert.equal((text.match(/Connection: keep-alive/g) ?? []).length, 3);
});

test('a head split over two writes is answered (node:http reads it)', async () => {
  upstream.reset();
  const r = await wire(p.port(), ['GET /split HTTP/1.1\r\nHo', 'st: app.test\r\n\r\n'], { expect: 1, probe: get('/after'), gapMs: 50 });
  assert.deepEqual(
    r.responses.map((x) => x.status),
    [200],
  );
  assert.equal(r.probed, true);
  assert.deepEqual(targets(), ['GET /split', 'GET /after']);
});

for (const [name, tail] of [
  ['garbage', 'GARBAGE\r\n\r\n'],
  ['a request with a bad chunk', 'POST /bad HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
] as const) {
  test(`${name} sent while a response is owed: that response, then the close; no 400, nothing more upstream`, async () => {
    upstream.reset();
    const r = await wire(p.port(), [get('/slow'), tail], { gapMs: 50, timeoutMs: 3000 });
    assert.deepEqual(
      r.responses.map((x) => x.status),
      [200],
    );
    assert.equal(r.closed, true);
    assert.deepEqual(targets(), ['GET /slow']);
  });
}

test("the client's FIN while a response is owed ends the connection without it, as node:http does", async () => {
  upstream.reset();
  const r = await wire(p.port(), get('/slow'), { endAfterMs: 0, timeoutMs: 2000 });
  assert.equal(r.closed, true);
  assert.deepEqual(r.responses, []);
});

test('an idle keep-alive connection is closed after the idle timeout, one in use is not', async () => {
  upstream.reset();
  const conn = net.connect(p.port(), '127.0.0.1');
  conn.on('data', () => {});
  await new Promise<void>((r) => conn.once('connect', r));
  const started = performance.now();
  // A response that takes about the idle timeout does not count as idle.
  conn.write(get('/slow'));
  const closedAt = await new Promise<number>((r) => conn.once('close', () => r(performance.now())));
  assert.deepEqual(targets(), ['GET /slow']);
  assert.ok(closedAt - started >= 300 + IDLE_MS - 50, `closed after ${Math.round(closedAt - started)} ms`);
});

test('a connection handed to node:http by its first bytes is released by the server that held it (none kept)', async () => {
  const { H1Connection } = await import('../../src/proxy/h1-connection.ts');
  const held = new Set<unknown>();
  let handedOff = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => {
      const conn = new H1Connection(socket, {
        maxHeaderSize: 16384,
        idleMs: 5000,
        onRequest: () => {},
        handOff: (s) => {
          handedOff++;
          s.destroy();
        },
        released: (c) => held.delete(c),
      });
      held.add(conn);
      conn.start(first);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx'));
      c.on('close', () => resolve());
      c.on('error', () => {});
    });
  }
  await new Promise((r) => server.close(r));
  assert.equal(handedOff, 20);
  assert.equal(held.size, 0);
});
