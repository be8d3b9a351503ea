import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, type Backend, type Started } from './fixtures.ts';
import http from 'node:http';

let flaky: Backend; // 503 for the first N requests of each path
let slow: Backend; // never answers /hang, answers /slow after 300 ms
let ok: Backend;
let refusedPort: number;
let p: Started;
const failuresLeft = new Map<string, number>();

before(async () => {
  flaky = await httpBackend('flaky', (req, res) => {
    const key = req.url ?? '';
    const left = failuresLeft.get(key) ?? 0;
    if (left > 0) {
      failuresLeft.set(key, left - 1);
      res.writeHead(key.includes('409') ? 409 : 503);
      res.end('nope');
      return;
    }
    res.end('flaky-ok');
  });
  slow = await httpBackend('slow', (req, res) => {
    if (req.url?.startsWith('/hang')) return; // never answers
    if (req.url?.startsWith('/stall')) {
      res.writeHead(200);
      res.write('partial');
      return; // headers sent, body stalls
    }
    setTimeout(() => res.end('slow-ok'), 300);
  });
  ok = await httpBackend('ok', (_req, res) => res.end('ok'));
  // A port with nothing listening: bind then close.
  const tmp = net.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
  refusedPort = (tmp.address() as net.AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));

  const retry = (retryOn: string[], count = 2, extra = {}) => ({ retryOn, count, perTryTimeoutMs: null, retriableStatusCodes: [], ...extra });
  p = await startProxy(
    config({
      clusters: [
        cluster('flaky', [ep(flaky)]),
        cluster('slow', [ep(slow)]),
        cluster('refused', [{ address: '127.0.0.1', port: refusedPort }]),
        cluster('half', [{ address: '127.0.0.1', port: refusedPort }, ep(ok)]),
        cluster('slowthenok', [ep(slow), ep(ok)]),
      ],
      httpVirtualHosts: [
        vhost('r.test', [
          route({ path: { kind: 'prefix', value: '/retry5xx' }, to: 'flaky', retry: retry(['5xx'], 2) }),
          route({ path: { kind: 'prefix', value: '/retry409' }, to: 'flaky', retry: retry(['retriable-4xx'], 1) }),
          route({ path: { kind: 'prefix', value: '/codes' }, to: 'flaky', retry: retry(['retriable-status-codes'], 1, { retriableStatusCodes: [503] }) }),
          route({ path: { kind: 'prefix', value: '/noretry' }, to: 'flaky' }),
          route({ path: { kind: 'prefix', value: '/hang' }, to: 'slow', timeouts: { responseMs: 200, idleMs: null } }),
          route({ path: { kind: 'prefix', value: '/slow' }, to: 'slow', timeouts: { responseMs: 2000, idleMs: null } }),
          route({ path: { kind: 'prefix', value: '/stall' }, to: 'slow', timeouts: { responseMs: null, idleMs: 200 } }),
          route({ path: { kind: 'prefix', value: '/idle-nohdr' }, to: 'slow', timeouts: { responseMs: null, idleMs: 200 } }),
          route({ path: { kind: 'prefix', value: '/refused' }, to: 'refused' }),
          route({ path: { kind: 'prefix', value: '/half' }, to: 'half', retry: retry(['connect-failure'], 1) }),
          route({
            path: { kind: 'prefix', value: '/pertry' },
            to: 'slowthenok',
            prefixRewrite: '/hang',
            retry: retry(['5xx'], 3, { perTryTimeoutMs: 100 }),
            timeouts: { responseMs: 5000, idleMs: null },
          }),
        ]),
      ],
    }),
  );
});

after(async () => {
  await p.close();
  await Promise.all([flaky.close(), slow.close(), ok.close()]);
});

const H = { host: 'r.test' };

test('retryOn 5xx: two 503s then success, three upstream attempts', async () => {
  failuresLeft.set('/retry5xx/a', 2);
  const before = flaky.seen.filter((s) => s.url === '/retry5xx/a').length;
  const r = await get(p.port(), '/retry5xx/a', H);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'flaky-ok');
  assert.equal(flaky.seen.filter((s) => s.url === '/retry5xx/a').length - before, 3);
});

test('retries are bounded by count: the last 503 reaches the client', async () => {
  failuresLeft.set('/retry5xx/b', 5);
  const r = await get(p.port(), '/retry5xx/b', H);
  assert.equal(r.status, 503);
  assert.equal(r.body, 'nope');
  assert.equal(flaky.seen.filter((s) => s.url === '/retry5xx/b').length, 3);
});

test('retriable-4xx retries 409; retriable-status-codes retries the listed code', async () => {
  failuresLeft.set('/retry409/409', 1);
  assert.equal((await get(p.port(), '/retry409/409', H)).status, 200);
  failuresLeft.set('/codes', 1);
  assert.equal((await get(p.port(), '/codes', H)).status, 200);
});

test('without a retry policy the 503 is passed through once', async () => {
  failuresLeft.set('/noretry', 1);
  const r = await get(p.port(), '/noretry', H);
  assert.equal(r.status, 503);
  assert.equal(flaky.seen.filter((s) => s.url === '/noretry').length, 1);
});

test('small request bodies are buffered and resent on retry', async () => {
  failuresLeft.set('/retry5xx/post', 1);
  const r = await get(p.port(), '/retry5xx/post', { ...H, 'content-type': 'text/plain' }, 'POST', 'payload');
  assert.equal(r.status, 200);
  const seen = flaky.seen.filter((s) => s.url === '/retry5xx/post');
  assert.equal(seen.length, 2);
  assert.deepEqual(seen.map((s) => s.body), ['payload', 'payload']);
});

test('large or chunked bodies are streamed, so not retried', async () => {
  failuresLeft.set('/retry5xx/big', 1);
  const r = await get(p.port(), '/retry5xx/big', H, 'POST', 'x'.repeat(100_000));
  assert.equal(r.status, 503);
  assert.equal(flaky.seen.filter((s) => s.url === '/retry5xx/big').length, 1);
});

test('response timeout: 504 upstream request timeout', async () => {
  const r = await get(p.port(), '/hang', H);
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
  assert.equal(p.logs.at(-1)!.responseFlags, 'UT');
});

test('a response within the timeout passes', async () => {
  const r = await get(p.port(), '/slow', H);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'slow-ok');
});

test('idle timeout after headers resets the stream', async () => {
  await assert.rejects(get(p.port(), '/stall', H));
  assert.equal(p.logs.at(-1)!.responseFlags, 'SI');
});

test('idle timeout before headers answers 408', async () => {
  const r = await get(p.port(), '/idle-nohdr/hang', H);
  assert.equal(r.status, 408);
});

test('connection refused: 503 connection failure, flag UF, no crash', async () => {
  const r = await get(p.port(), '/refused', H);
  assert.equal(r.status, 503);
  assert.equal(r.body, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure');
  assert.equal(p.logs.at(-1)!.responseFlags, 'UF');
});

test('connect-failure retry moves to another endpoint; the refusing one is ejected', async () => {
  for (let i = 0; i < 6; i++) {
    const r = await get(p.port(), '/half', H);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  }
  assert.ok(p.proxy.stats().outlierEjections! >= 1);
});

test('per-try timeout retries onto a healthy endpoint', async () => {
  const before = p.proxy.stats().retries!;
  // Round robin over [slow, ok]: at least one of four starts on the slow one.
  for (let i = 0; i < 4; i++) {
    const r = await get(p.port(), '/pertry', H);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  }
  assert.ok(p.proxy.stats().retries! > before);
});

test('more in-flight requests than the cluster max_requests: 503 overflow (UO), the rest are served', async () => {
  const breakers = { maxConnections: 0, maxPendingRequests: 0, maxRequests: 2, maxRetries: 0, perHostMaxConnections: 0 };
  const q = await startProxy(
    config({ clusters: [cluster('slow', [ep(slow)], { circuitBreakers: breakers })], httpVirtualHosts: [vhost('o.test', [route({ to: 'slow' })])] }),
  );
  try {
    const results = await Promise.all([0, 1, 2].map(() => get(q.port(), '/slow', { host: 'o.test' })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 503]);
    assert.match(results.find((r) => r.status === 503)!.body, /reset reason: overflow$/);
    assert.equal(q.proxy.stats().upstreamOverflow, 1);
  } finally {
    await q.close();
  }
});

test('idle upstream connections close after the cluster idle connection timeout', async () => {
  let closed = 0;
  let opened = 0;
  const server = http.createServer((_req, res) => res.end('idle'));
  server.on('connection', (s) => {
    opened++;
    s.on('close', () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const q = await startProxy(
    config({
      clusters: [cluster('idle', [{ address: '127.0.0.1', port }], { idleConnectionTimeoutMs: 150 })],
      httpVirtualHosts: [vhost('i.test', [route({ to: 'idle' })])],
    }),
  );
  try {
    assert.equal((await get(q.port(), '/', { host: 'i.test' })).body, 'idle');
    for (let i = 0; i < 200 && closed === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(closed, 1);
    assert.equal((await get(q.port(), '/', { host: 'i.test' })).body, 'idle');
    assert.equal(opened, 2);
  } finally {
    await q.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('refused-stream: an HTTP/2 upstream refusing a stream is retried', async () => {
  const http2 = await import('node:http2');
  let refused = 0;
  const h2 = http2.createServer();
  h2.on('stream', (stream: import('node:http2').ServerHttp2Stream) => {
    stream.on('error', () => {});
    // Two refusals: undici retries a refused stream once by itself, the
    // second one reaches the proxy's retry policy.
    if (refused < 2) {
      refused++;
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.respond({ ':status': 200 });
    stream.end('second try');
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()));
  const port = (h2.address() as net.AddressInfo).port;
  const q = await startProxy(
    config({
      clusters: [cluster('h2r', [{ address: '127.0.0.1', port }], { protocol: 'h2c' })],
      httpVirtualHosts: [vhost('rs.test', [route({ to: 'h2r', retry: { retryOn: ['refused-stream'], count: 1, perTryTimeoutMs: null, retriableStatusCodes: [] } })])],
    }),
  );
  try {
    const r = await get(q.port(), '/', { host: 'rs.test' });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'second try');
    assert.equal(refused, 2);
    assert.equal(q.proxy.stats().retries, 1);
  } finally {
    await q.close();
    await new Promise<void>((r) => h2.close(() => r()));
  }
});
