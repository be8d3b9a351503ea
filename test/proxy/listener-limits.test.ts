// Contour's listener limits and downstream timeouts on real sockets: the
// listener connection limit (the N+1th connection is closed at accept and
// counted), max requests per connection (HTTP/1 Connection: close, HTTP/2
// GOAWAY), the connection idle timeout, max connection duration, the
// request timeout (HTTP/1 and HTTP/2), HTTP/2 max concurrent streams, trusted
// X-Forwarded-For hops from clients bound to 127.0.0.2 and 127.0.0.3, and
// the TLS listeners' versions and ciphers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import tls from 'node:tls';
import { createCa } from '../support/pki.ts';
import { waitFor } from '../support/wait.ts';
import { RawHttp1 as Conn } from '../support/raw-http1.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, startProxy, vhost, type Backend, type Started } from './fixtures.ts';
import type { IpFilterConfig } from '../../src/dag/index.ts';

let app: Backend;
let slow: Backend;

before(async () => {
  app = await httpBackend('app');
  // Answers after 800 ms: a request in flight when a limit strikes.
  slow = await httpBackend('slow', (_req, res) => {
    setTimeout(() => res.end('slow'), 800);
  });
});

after(async () => {
  await app.close();
  await slow.close();
});

const plainConfig = () => config({
  httpVirtualHosts: [vhost('limits.test', [route({ to: 'slow', path: { kind: 'prefix', value: '/slow' } }), route({ to: 'app' })])],
  clusters: [cluster('app', [ep(app)]), cluster('slow', [ep(slow)])],
});

async function proxyWith(extra: Parameters<typeof startProxy>[2]): Promise<Started> {
  return startProxy(plainConfig(), [{ name: 'http' }], extra);
}

test('listener connection limit: the N+1th connection is closed at accept, counted as downstream_cx_overflow; a freed place is taken again', async () => {
  const p = await proxyWith({ downstream: { maxConnectionsPerListener: 2 } });
  try {
    const a = await Conn.open(p.port());
    const b = await Conn.open(p.port());
    for (const c of [a, b]) {
      c.send();
      assert.equal((await c.response())?.status, 200);
    }
    const c = await Conn.open(p.port());
    c.send();
    assert.equal(await c.response(), undefined, 'the third connection is closed without an answer');
    await waitFor('the third connection closed', () => c.closed);
    const listener = () => p.proxy.metricsSource(0).listeners[0]!;
    assert.equal(listener().cxOverflow, 1);
    assert.equal(listener().cxTotal, 2);
    // The two first still work.
    a.send();
    assert.equal((await a.response())?.status, 200);
    a.close();
    const d = await waitFor('a place again', async () => {
      const x = await Conn.open(p.port());
      x.send();
      const r = await x.response();
      if (r?.status === 200) return x;
      x.close();
      return undefined;
    });
    d.close();
    b.close();
  } finally {
    await p.close();
  }
});

test('max requests per connection, HTTP/1: the Nth response says Connection: close and the connection ends; pipelined requests after it are not served', async () => {
  const p = await proxyWith({ downstream: { maxRequestsPerConnection: 3 } });
  const seenBefore = app.seen.length;
  try {
    const c = await Conn.open(p.port());
    c.send('/one');
    const first = await c.response();
    assert.equal(first?.status, 200);
    assert.notEqual(first?.headers['connection'], 'close');
    // Two more and a fourth, pipelined.
    c.send('/two');
    c.send('/three');
    c.send('/four');
    const second = await c.response();
    const third = await c.response();
    assert.equal(second?.status, 200);
    assert.equal(third?.status, 200);
    assert.equal(third?.headers['connection'], 'close');
    assert.equal(await c.response(), undefined);
    await waitFor('closed', () => c.closed);
    assert.deepEqual(app.seen.slice(seenBefore).map((s) => s.url), ['/one', '/two', '/three']);
    assert.equal(p.proxy.metricsSource(0).listeners[0]!.cxMaxRequestsReached, 1);
  } finally {
    await p.close();
  }
});

test('max requests per connection, HTTP/2: GOAWAY after the Nth stream, which is served; the client opens a new connection for more', async () => {
  const p = await proxyWith({ downstream: { maxRequestsPerConnection: 2 } });
  try {
    const session = http2.connect(`http://127.0.0.1:${p.port()}`);
    session.on('error', () => {});
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    const get = (path: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const r = session.request({ ':path': path, ':authority': 'limits.test' });
        r.on('response', (h) => resolve(Number(h[':status'])));
        r.on('error', reject);
        r.resume();
        r.end();
      });
    assert.equal(await get('/a'), 200);
    assert.equal(await get('/b'), 200);
    await waitFor('GOAWAY', () => goaway);
    await assert.rejects(get('/c'));
    await waitFor('session closed', () => session.closed || session.destroyed);
    session.destroy();
  } finally {
    await p.close();
  }
});

test('connection idle timeout: an idle keep-alive connection is closed after it, one in use is not', async () => {
  const p = await proxyWith({ downstream: { connectionIdleTimeoutMs: 400 } });
  try {
    const c = await Conn.open(p.port());
    c.send();
    assert.equal((await c.response())?.status, 200);
    const idleFrom = performance.now();
    await waitFor('closed for idleness', () => c.closed, 10_000);
    assert.ok(c.closedAt - idleFrom >= 300, `closed after ${Math.round(c.closedAt - idleFrom)} ms`);
    // A request that takes longer than the idle timeout is answered.
    const d = await Conn.open(p.port());
    d.send('/slow');
    assert.equal((await d.response())?.body, 'slow');
    d.close();
  } finally {
    await p.close();
  }
});

test('max connection duration: an idle connection is closed at it; one with a request in flight gets its answer with Connection: close', async () => {
  const p = await proxyWith({ downstream: { maxConnectionDurationMs: 500 } });
  try {
    const idle = await Conn.open(p.port());
    idle.send();
    assert.equal((await idle.response())?.status, 200);
    const busy = await Conn.open(p.port());
    // Starts at 300 ms and is answered at 1100 ms: in flight at 500 ms.
    await new Promise((r) => setTimeout(r, 300));
    busy.send('/slow');
    await waitFor('the idle connection closed', () => idle.closed, 10_000);
    const r = await busy.response();
    assert.equal(r?.body, 'slow');
    assert.equal(r?.headers['connection'], 'close');
    await waitFor('the busy connection closed after its answer', () => busy.closed);
    assert.equal(p.proxy.metricsSource(0).listeners[0]!.cxMaxDurationReached, 2);
  } finally {
    await p.close();
  }
});

test('max connection duration with a shutdown grace period, HTTP/1: an idle connection is kept for the period, a request in it is answered with Connection: close, one still idle at its end is closed', async () => {
  const p = await proxyWith({ downstream: { maxConnectionDurationMs: 400, http2ShutdownGraceMs: 800 } });
  try {
    const asks = await Conn.open(p.port());
    const quiet = await Conn.open(p.port());
    const t0 = performance.now();
    for (const c of [asks, quiet]) {
      c.send();
      assert.equal((await c.response())?.status, 200);
    }
    // Past the age, inside the grace period.
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + 700 - performance.now())));
    assert.equal(asks.closed || quiet.closed, false, 'not closed at the age');
    asks.send();
    const r = await asks.response();
    assert.equal(r?.status, 200);
    assert.equal(r?.headers['connection'], 'close');
    await waitFor('closed after its answer', () => asks.closed);
    await waitFor('the idle one closed at the end of the period', () => quiet.closed, 10_000);
    assert.ok(quiet.closedAt - t0 >= 400 + 800 - 150, `closed ${Math.round(quiet.closedAt - t0)} ms after connecting`);
  } finally {
    await p.close();
  }
});

test('request timeout: a request whose body does not arrive in time is answered 408', async () => {
  const p = await proxyWith({ downstream: { requestTimeoutMs: 500 } });
  try {
    const c = await Conn.open(p.port());
    c.sock.write('POST / HTTP/1.1\r\nhost: limits.test\r\ncontent-length: 10\r\n\r\nab');
    const r = await c.response(10_000);
    assert.equal(r?.status, 408);
    await waitFor('closed', () => c.closed);
  } finally {
    await p.close();
  }
});

test('request timeout, HTTP/2: a stream whose body does not arrive in time is answered 408; a whole request answered later than the timeout is not', { timeout: 20_000 }, async () => {
  const p = await proxyWith({ downstream: { requestTimeoutMs: 500 } });
  const session = http2.connect(`http://127.0.0.1:${p.port()}`);
  session.on('error', () => {});
  const call = (headers: http2.OutgoingHttpHeaders, body: string | undefined, end: boolean): Promise<{ status: number; body: string; ms: number }> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const r = session.request({ ':authority': 'limits.test', ...headers });
      let status = 0;
      let text = '';
      r.on('response', (h) => (status = Number(h[':status'])));
      r.on('data', (d: Buffer) => (text += d.toString()));
      r.on('end', () => resolve({ status, body: text, ms: performance.now() - t0 }));
      r.on('error', reject);
      if (body !== undefined) r.write(body);
      if (end) r.end();
    });
  try {
    // Headers and 2 of 10 body bytes, then nothing.
    const stalled = await call({ ':method': 'POST', ':path': '/', 'content-length': '10' }, 'ab', false);
    assert.equal(stalled.status, 408);
    assert.equal(stalled.body, 'request timeout');
    assert.ok(stalled.ms >= 400, `answered after ${Math.round(stalled.ms)} ms`);
    // Whole requests: the timeout is over once they have arrived (the
    // backend answers after 800 ms).
    assert.deepEqual(await call({ ':path': '/slow' }, undefined, true).then((r) => [r.status, r.body]), [200, 'slow']);
    assert.deepEqual(await call({ ':method': 'POST', ':path': '/slow', 'content-length': '2' }, 'ok', true).then((r) => [r.status, r.body]), [200, 'slow']);
  } finally {
    session.destroy();
    await p.close();
  }
});

test('HTTP/2 max concurrent streams: announced in SETTINGS', async () => {
  const p = await proxyWith({ downstream: { http2MaxConcurrentStreams: 7 } });
  try {
    const session = http2.connect(`http://127.0.0.1:${p.port()}`);
    session.on('error', () => {});
    await new Promise<void>((r) => session.once('remoteSettings', () => r()));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
    session.destroy();
  } finally {
    await p.close();
  }
});

test('trusted X-Forwarded-For hops: the client is the Nth address from the right; X-Forwarded-For is appended the connection; Remote IP filters and the access log read the trusted client', async () => {
  const allow: IpFilterConfig = { action: 'allow', rules: [{ cidr: '203.0.113.7/32', source: 'Remote' }] };
  const cfg = config({
    httpVirtualHosts: [vhost('limits.test', [route({ to: 'app', path: { kind: 'prefix', value: '/only-203' }, ipFilter: allow }), route({ to: 'app' })])],
    clusters: [cluster('app', [ep(app)])],
  });
  const one = await startProxy(cfg, [{ name: 'http' }], { numTrustedHops: 1 });
  const two = await startProxy(cfg, [{ name: 'http' }], { numTrustedHops: 2 });
  const none = await startProxy(cfg, [{ name: 'http' }]);
  const ask = async (p: Started, from: string, path: string, xff?: string) => {
    const c = await Conn.open(p.port(), from);
    c.send(path, { connection: 'close', ...(xff !== undefined ? { 'x-forwarded-for': xff } : {}) });
    const r = await c.response();
    c.close();
    const seen = app.seen.at(-1)!;
    return { status: r?.status, xff: seen.headers['x-forwarded-for'], external: seen.headers['x-envoy-external-address'], log: p.logs.at(-1)! };
  };
  try {
    const rows: { p: Started; from: string; xff?: string; external: string; sent: string }[] = [
      { p: one, from: '127.0.0.2', xff: '198.51.100.1, 203.0.113.7', external: '203.0.113.7', sent: '198.51.100.1, 203.0.113.7, 127.0.0.2' },
      { p: two, from: '127.0.0.3', xff: '198.51.100.1, 203.0.113.7', external: '198.51.100.1', sent: '198.51.100.1, 203.0.113.7, 127.0.0.3' },
      // Fewer entries than hops, none, or not an address: the connection's client.
      { p: two, from: '127.0.0.2', xff: '203.0.113.7', external: '127.0.0.2', sent: '203.0.113.7, 127.0.0.2' },
      { p: one, from: '127.0.0.3', external: '127.0.0.3', sent: '127.0.0.3' },
      { p: one, from: '127.0.0.2', xff: 'unknown', external: '127.0.0.2', sent: 'unknown, 127.0.0.2' },
      // 0 hops: never read from X-Forwarded-For.
      { p: none, from: '127.0.0.2', xff: '203.0.113.7', external: '127.0.0.2', sent: '203.0.113.7, 127.0.0.2' },
    ];
    for (const row of rows) {
      const r = await ask(row.p, row.from, '/', row.xff);
      assert.equal(r.status, 200);
      // Without X-Forwarded-For a loopback client's request is internal: no external address.
      assert.equal(r.external, row.xff === undefined ? undefined : row.external, `${row.from} ${row.xff}`);
      assert.equal(r.xff, row.sent);
      assert.equal(r.log.downstreamRemoteAddress, row.external.startsWith('127.') ? `${row.from}:${r.log.downstreamRemoteAddress.split(':')[1]}` : `${row.external}:0`);
      assert.equal(r.log.downstreamDirectRemoteAddress.split(':')[0], row.from);
    }
    // A Remote allow rule judges the trusted client.
    assert.equal((await ask(one, '127.0.0.2', '/only-203', '203.0.113.7')).status, 200);
    const refused = await Conn.open(one.port(), '127.0.0.2');
    refused.send('/only-203', { connection: 'close', 'x-forwarded-for': '203.0.113.8' });
    assert.equal((await refused.response())?.status, 403);
    refused.close();
    const noHops = await Conn.open(none.port(), '127.0.0.2');
    noHops.send('/only-203', { connection: 'close', 'x-forwarded-for': '203.0.113.7' });
    assert.equal((await noHops.response())?.status, 403, 'without trusted hops the header is not believed');
    noHops.close();
  } finally {
    await one.close();
    await two.close();
    await none.close();
  }
});

test("TLS listeners: the config's minimum version and ciphers bound every virtual host; Contour's default ciphers without them", async () => {
  const ca = await createCa('listener CA');
  const cert = await ca.issue({ dnsNames: ['tls.limits.test'] });
  const cfg = config({
    httpsVirtualHosts: [secureVhost('tls.limits.test', [route({ to: 'app' })], { secretId: 'default/tls' })],
    secrets: [{ id: 'default/tls', ...cert }],
    clusters: [cluster('app', [ep(app)])],
  });
  const handshake = (port: number, opts: tls.ConnectionOptions): Promise<{ ok: true; version: string; cipher: string } | { ok: false }> =>
    new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'tls.limits.test', ca: ca.certPem, ...opts }, () => {
        resolve({ ok: true, version: s.getProtocol() ?? '', cipher: s.getCipher().name });
        s.destroy();
      });
      s.on('error', () => resolve({ ok: false }));
    });
  const dflt = await startProxy(cfg, [{ name: 'https', tls: true }]);
  const bounded = await startProxy(cfg, [{ name: 'https', tls: true }], { listenerTls: { minVersion: '1.2', maxVersion: '1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' } });
  const v13 = await startProxy(cfg, [{ name: 'https', tls: true }], { listenerTls: { minVersion: '1.3', maxVersion: '1.3', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' } });
  try {
    // Contour's default list has no CBC ciphers.
    assert.deepEqual(await handshake(dflt.port(), { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-SHA384' }), { ok: false });
    assert.deepEqual(await handshake(dflt.port(), { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), { ok: true, version: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    assert.equal((await handshake(dflt.port(), {})).ok && 'TLSv1.3', 'TLSv1.3');
    // Only the configured cipher, and at most TLS 1.2.
    assert.deepEqual(await handshake(bounded.port(), { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' }), { ok: false });
    assert.deepEqual(await handshake(bounded.port(), {}), { ok: true, version: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
    // At least TLS 1.3, though the virtual host allows 1.2.
    assert.deepEqual(await handshake(v13.port(), { maxVersion: 'TLSv1.2' }), { ok: false });
    const r = await handshake(v13.port(), {});
    assert.ok(r.ok && r.version === 'TLSv1.3');
  } finally {
    await dflt.close();
    await bounded.close();
    await v13.close();
  }
});
