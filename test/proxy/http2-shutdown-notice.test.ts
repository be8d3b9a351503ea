// timeouts.connection-shutdown-grace-period (Envoy's drain_timeout) on real
// sockets: a drained HTTP/2 connection first gets RFC 9113's shutdown notice
// (GOAWAY NO_ERROR, last stream 2^31-1), a stream opened during the grace is
// still served, then the final GOAWAY names the last stream and the
// connection closes once its streams are done. For the serve drain (its
// grace bounds the period) and for max-connection-duration; over TLS and
// h2c with a raw-frame client, and with node:http2's client. 0 ("infinity"):
// the final GOAWAY at once.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import type { DownstreamSettings } from '../../src/proxy/index.ts';
import { createCa } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, startProxy, vhost } from './fixtures.ts';
import { DRAIN_HOST as HOST, drainProxy, type DrainProxy } from './drain-proxy.ts';
import { ERR, FLAG, FRAME, H2Wire, headers, request, type Frame } from './h2-wire.ts';
const NOTICE = { code: ERR.NO_ERROR, lastStream: 0x7fffffff };
const SLOW_MS = 600;

function goaways(w: H2Wire): { code: number; lastStream: number }[] {
  return w.frames.filter((f) => f.type === FRAME.GOAWAY).map((g) => ({ lastStream: g.payload.readUInt32BE(0) & 0x7fffffff, code: g.payload.readUInt32BE(4) }));
}

async function waitGoaways(w: H2Wire, n: number, timeoutMs: number): Promise<{ code: number; lastStream: number }[]> {
  await w.waitFor(() => goaways(w).length >= n, timeoutMs);
  return goaways(w);
}

/** The stream's status once it has ended with END_STREAM. */
async function servedStatus(w: H2Wire, stream: number): Promise<number | undefined> {
  const outcome = await w.outcome(stream, 10_000);
  const end = await w.waitFor((f: Frame) => f.stream === stream && (f.type === FRAME.DATA || f.type === FRAME.HEADERS) && (f.flags & FLAG.END_STREAM) !== 0, 10_000);
  return end === undefined ? undefined : outcome?.status;
}

function setup(downstream: DownstreamSettings, drainGraceMs = 1000): Promise<DrainProxy> {
  return drainProxy({ drainGraceMs, slowMs: SLOW_MS, downstream });
}

test('serve drain with a shutdown grace period: the notice (2^31-1), a stream opened in the grace is served, then the final GOAWAY names it (TLS and h2c)', { timeout: 40_000 }, async () => {
  const GRACE_MS = 1200;
  // The drain's own grace is longer: the shutdown grace period decides.
  const s = await setup({ http2ShutdownGraceMs: GRACE_MS }, 3000);
  const wires: H2Wire[] = [];
  try {
    const tlsWire = await H2Wire.connect({ port: s.port('https'), tls: s.tls });
    const plainWire = await H2Wire.connect({ port: s.port('http') });
    wires.push(tlsWire, plainWire);
    for (const w of wires) await w.send(headers(1, request(HOST, '/slow/first')));
    await waitFor('both slow requests upstream', () => s.upstream.requests.filter((r) => r.target === '/slow/first').length === 2);
    const t0 = performance.now();
    const drained = s.runtime.close(20_000);
    for (const [name, w] of [['tls', tlsWire], ['h2c', plainWire]] as const) {
      assert.deepEqual(await waitGoaways(w, 1, 5000), [NOTICE], `${name}: the shutdown notice first`);
      // A stream the client opens after the notice (one racing with it) is still served.
      await w.send(headers(3, request(HOST, '/in-grace')));
    }
    for (const [name, w] of [['tls', tlsWire], ['h2c', plainWire]] as const) {
      assert.equal(await servedStatus(w, 1), 200, `${name}: the stream in flight finishes`);
      assert.equal(await servedStatus(w, 3), 200, `${name}: the stream opened in the grace is served`);
      const all = await waitGoaways(w, 2, 10_000);
      assert.deepEqual(all, [NOTICE, { code: ERR.NO_ERROR, lastStream: 3 }], `${name}: the final GOAWAY names the last stream`);
      assert.equal(await w.waitClosed(10_000), true, `${name}: closed once its streams are done`);
    }
    const finalAt = performance.now() - t0;
    assert.ok(finalAt >= GRACE_MS - 100, `the final GOAWAY came ${Math.round(finalAt)} ms into the drain, before the grace period ended`);
    assert.equal(s.upstream.requests.filter((r) => r.target === '/in-grace').length, 2);
    await drained;
  } finally {
    for (const w of wires) w.destroy();
    await s.close();
  }
});

test("serve drain: the drain's own grace bounds the shutdown grace period; a session opened during the drain gets the notice after its SETTINGS and is served", { timeout: 30_000 }, async () => {
  const s = await setup({ http2ShutdownGraceMs: 60_000 }, 800);
  const wires: H2Wire[] = [];
  let late: http2.ClientHttp2Session | undefined;
  try {
    const idle = await H2Wire.connect({ port: s.port('http') });
    wires.push(idle);
    assert.equal(await idle.waitSettings(5000), true);
    // Accepted before the drain; it speaks only once the drain has begun.
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(s.port('http'), '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    });
    const t0 = performance.now();
    const drained = s.runtime.close(20_000);
    assert.deepEqual(await waitGoaways(idle, 1, 5000), [NOTICE]);
    // node:http2's client fails the session on a GOAWAY before the server's SETTINGS.
    late = http2.connect(`http://${HOST}`, { createConnection: () => socket });
    const errors: Error[] = [];
    late.on('error', (e) => errors.push(e));
    const seen: number[] = [];
    late.on('goaway', (_code, last) => seen.push(last));
    const status = await new Promise<number>((resolve, reject) => {
      const r = late!.request({ ':path': '/late', ':authority': HOST });
      r.on('response', (h) => resolve(Number(h[':status'])));
      r.on('error', reject);
      r.resume();
      r.end();
    });
    assert.equal(status, 200, 'the request of a session opened during the drain is served');
    await waitFor('the late session got the notice', () => seen.length > 0, 5000);
    assert.equal(seen[0], 0x7fffffff);
    assert.deepEqual(errors, []);
    assert.deepEqual(await waitGoaways(idle, 2, 5000), [NOTICE, { code: ERR.NO_ERROR, lastStream: 0 }]);
    const at = performance.now() - t0;
    assert.ok(at >= 700 && at < 5000, `final GOAWAY ${Math.round(at)} ms into an 800 ms drain grace`);
    assert.equal(await idle.waitClosed(10_000), true);
    await drained;
  } finally {
    late?.destroy();
    for (const w of wires) w.destroy();
    await s.close();
  }
});

const AGE_ROWS: { name: string; downstream: DownstreamSettings; maxDurationReached: number }[] = [
  { name: 'max-connection-duration', downstream: { maxConnectionDurationMs: 400, http2ShutdownGraceMs: 900 }, maxDurationReached: 2 },
  // Envoy drains an idle connection too.
  { name: 'connection-idle-timeout', downstream: { connectionIdleTimeoutMs: 400, http2ShutdownGraceMs: 900 }, maxDurationReached: 0 },
];

for (const row of AGE_ROWS) {
  test(`${row.name} with a shutdown grace period: the notice, a stream in the grace is served, the final GOAWAY after it`, { timeout: 30_000 }, async () => {
    const s = await setup(row.downstream);
    const wires: H2Wire[] = [];
    try {
      for (const port of [s.port('http'), s.port('https')]) {
        const w = await H2Wire.connect(port === s.port('https') ? { port, tls: s.tls } : { port });
        wires.push(w);
        const t0 = performance.now();
        assert.deepEqual(await waitGoaways(w, 1, 5000), [NOTICE]);
        const noticeAt = performance.now() - t0;
        assert.ok(noticeAt >= 300, `notice ${Math.round(noticeAt)} ms after connecting`);
        await w.send(headers(1, request(HOST, '/after-notice')));
        assert.equal(await servedStatus(w, 1), 200);
        assert.deepEqual(await waitGoaways(w, 2, 5000), [NOTICE, { code: ERR.NO_ERROR, lastStream: 1 }]);
        const finalAt = performance.now() - t0;
        assert.ok(finalAt >= 400 + 900 - 150, `final GOAWAY ${Math.round(finalAt)} ms after connecting`);
        assert.equal(await w.waitClosed(10_000), true);
      }
      assert.equal(s.runtime.metricsSource(0).listeners.reduce((n, l) => n + l.cxMaxDurationReached, 0), row.maxDurationReached);
    } finally {
      for (const w of wires) w.destroy();
      await s.close();
    }
  });
}

test('a grace period of 0 ("infinity"): no notice, the final GOAWAY at once', { timeout: 30_000 }, async () => {
  const s = await setup({ maxConnectionDurationMs: 300, http2ShutdownGraceMs: 0 });
  const wires: H2Wire[] = [];
  try {
    const w = await H2Wire.connect({ port: s.port('https'), tls: s.tls });
    wires.push(w);
    await w.send(headers(1, request(HOST, '/slow/one')));
    assert.deepEqual(await waitGoaways(w, 1, 5000), [{ code: ERR.NO_ERROR, lastStream: 1 }]);
    assert.equal(await servedStatus(w, 1), 200);
    assert.equal(await w.waitClosed(10_000), true);
    // node:http2 may repeat its final GOAWAY as it tears the session down; never a notice.
    assert.ok(goaways(w).every((g) => g.code === ERR.NO_ERROR && g.lastStream === 1), JSON.stringify(goaways(w)));
  } finally {
    for (const w of wires) w.destroy();
    await s.close();
  }
});

test("node:http2's client: the notice ends its session gracefully, its streams finish, a stream sent with the notice on the wire is served", { timeout: 30_000 }, async () => {
  const s = await setup({ maxConnectionDurationMs: 500, http2ShutdownGraceMs: 2000 });
  try {
    for (const [name, url, opts] of [
      ['h2c', `http://127.0.0.1:${s.port('http')}`, {}],
      ['tls', `https://127.0.0.1:${s.port('https')}`, { ca: s.tls.ca, servername: HOST }],
    ] as const) {
      const client = http2.connect(url, opts);
      const errors: Error[] = [];
      client.on('error', (e) => errors.push(e));
      const seen: { code: number; last: number }[] = [];
      client.on('goaway', (code, last) => seen.push({ code, last }));
      const get = (path: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const r = client.request({ ':path': path, ':authority': HOST });
          r.on('response', (h) => resolve(Number(h[':status'])));
          r.on('error', reject);
          r.resume();
          r.end();
        });
      assert.equal(await get('/before'), 200);
      // In flight when the connection reaches its age.
      const slow = get('/slow/in-flight');
      await waitFor(`${name}: the notice`, () => seen.length > 0, 5000);
      assert.deepEqual(seen[0], { code: ERR.NO_ERROR, last: 0x7fffffff }, `${name}: notice`);
      assert.equal(await slow, 200, `${name}: the stream in flight finishes`);
      // node:http2 closes its session on a NO_ERROR GOAWAY and, its streams
      // done, the connection: well before the grace period ends.
      await waitFor(`${name}: session closed`, () => client.closed || client.destroyed, 5000);
      assert.deepEqual(errors, [], `${name}: no protocol error`);
      client.destroy();
    }
  } finally {
    await s.close();
  }
});

test('the notice lands between frames while large responses are backed up on the connection (TLS and h2c)', { timeout: 60_000 }, async () => {
  const BODY = 1024 * 1024;
  const STREAMS = 6;
  const big = await httpBackend('big', (_req, res) => res.end(Buffer.alloc(BODY, 0x61)));
  const ca = await createCa();
  const cert = await ca.issue({ dnsNames: [HOST] });
  const routes = [route({ to: 'big' })];
  const p = await startProxy(
    config({
      clusters: [cluster('big', [ep(big)])],
      secrets: [{ id: 'default/app', ...cert }],
      httpVirtualHosts: [vhost(HOST, routes)],
      httpsVirtualHosts: [secureVhost(HOST, routes, { secretId: 'default/app' })],
    }),
    [{ name: 'http' }, { name: 'https', tls: true }],
    { downstream: { maxConnectionDurationMs: 300, http2ShutdownGraceMs: 5000 } },
  );
  try {
    for (const [name, url, opts] of [
      ['h2c', `http://127.0.0.1:${p.port('http')}`, {}],
      ['tls', `https://127.0.0.1:${p.port('https')}`, { ca: ca.certPem, servername: HOST }],
    ] as const) {
      const client = http2.connect(url, opts);
      const errors: Error[] = [];
      client.on('error', (e) => errors.push(e));
      const notices: number[] = [];
      // The client reads slowly until the notice: the proxy's writes back
      // up behind it. Then it reads at once, since node:http2 drops what a
      // stream has buffered unread when the connection closes.
      let slow = true;
      let received = 0;
      let receivedAtNotice = -1;
      client.on('goaway', (_code, last) => {
        notices.push(last);
        if (receivedAtNotice < 0) receivedAtNotice = received;
        slow = false;
      });
      const sizes = await Promise.all(
        Array.from({ length: STREAMS }, (_, i) =>
          new Promise<number>((resolve, reject) => {
            const r = client.request({ ':path': `/big/${i}`, ':authority': HOST });
            let n = 0;
            r.on('data', (d: Buffer) => {
              n += d.length;
              received += d.length;
              if (!slow) return;
              r.pause();
              setTimeout(() => r.resume(), 5);
            });
            r.on('end', () => resolve(n));
            r.on('error', reject);
            r.end();
          }),
        ),
      );
      assert.deepEqual(sizes, Array.from({ length: STREAMS }, () => BODY), `${name}: every body whole`);
      assert.equal(notices[0], 0x7fffffff, `${name}: the notice`);
      assert.ok(receivedAtNotice >= 0 && receivedAtNotice < STREAMS * BODY, `${name}: the notice came with ${receivedAtNotice} of ${STREAMS * BODY} bytes read`);
      assert.deepEqual(errors, [], `${name}: no protocol error`);
      client.destroy();
    }
  } finally {
    await p.close();
    await big.close();
  }
});
