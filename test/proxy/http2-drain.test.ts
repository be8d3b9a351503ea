// Drain (SIGTERM) on HTTP/2, as Envoy drains: a session with streams in
// flight gets GOAWAY NO_ERROR naming its last stream and those streams
// finish; a session opened while the proxy drains (the load balancer
// accepted the connection before the signal, its request is on the way) is
// not closed at once: its first request is served, then GOAWAY; one that
// sends nothing gets GOAWAY when the grace ends. Over TLS (ALPN h2) and h2c.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { waitFor } from '../support/wait.ts';
import { DRAIN_HOST, drainProxy } from './drain-proxy.ts';
import { ERR, FLAG, FRAME, H2Wire, headers, request } from './h2-wire.ts';

const GRACE_MS = 1500;
const SLOW_MS = 600;
const HOST = DRAIN_HOST;

/** The stream's response: status, and whether it ended with END_STREAM. */
async function served(w: H2Wire, stream: number): Promise<{ status?: number; reset?: number; goaway?: number; ended: boolean }> {
  const outcome = (await w.outcome(stream, 10_000)) ?? {};
  const end = await w.waitFor((f) => f.stream === stream && (f.type === FRAME.DATA || f.type === FRAME.HEADERS) && (f.flags & FLAG.END_STREAM) !== 0, 10_000);
  return { ...outcome, ended: end !== undefined };
}

function tcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

test('drain: HTTP/2 sessions get GOAWAY NO_ERROR, streams in flight and the first request of a session opened during the drain finish', { timeout: 30_000 }, async () => {
  const p = await drainProxy({ drainGraceMs: GRACE_MS, slowMs: SLOW_MS });
  const { runtime, upstream } = p;
  const https = p.port('https');
  const http = p.port('http');
  const tlsOpts = p.tls;
  const wires: H2Wire[] = [];
  try {
    // Before the drain: one session with a slow stream in flight, over TLS
    // and over h2c; three TCP connections that have sent nothing yet.
    const busy = await H2Wire.connect({ port: https, tls: tlsOpts });
    const busyPlain = await H2Wire.connect({ port: http });
    wires.push(busy, busyPlain);
    await busy.send(headers(1, request(HOST, '/slow/tls')));
    await busyPlain.send(headers(1, request(HOST, '/slow/h2c')));
    const lateTls = await tcp(https);
    const latePlain = await tcp(http);
    const silent = await tcp(https);
    await waitFor('both slow requests upstream', () => upstream.requests.filter((r) => r.target.startsWith('/slow/')).length === 2);

    const t0 = performance.now();
    const drained = runtime.close(20_000);
    // GOAWAY at once on the busy sessions, naming the stream in flight.
    for (const [name, w] of [['tls', busy], ['h2c', busyPlain]] as const) {
      const g = await w.waitGoaway(5000);
      assert.deepEqual(g, { code: ERR.NO_ERROR, lastStream: 1 }, `${name}: GOAWAY`);
    }
    // The connections accepted before the drain speak now.
    await new Promise((r) => setTimeout(r, 150));
    const late = await H2Wire.connect({ port: https, socket: lateTls, tls: tlsOpts });
    const late2 = await H2Wire.connect({ port: http, socket: latePlain });
    const quiet = await H2Wire.connect({ port: https, socket: silent, tls: tlsOpts });
    wires.push(late, late2, quiet);
    await late.send(headers(1, request(HOST, '/late/tls')));
    await late2.send(headers(1, request(HOST, '/late/h2c')));

    for (const [name, w] of [['in flight (tls)', busy], ['in flight (h2c)', busyPlain], ['opened during the drain (tls)', late], ['opened during the drain (h2c)', late2]] as const) {
      assert.deepEqual(await served(w, 1), { status: 200, ended: true }, `${name}: served to the end`);
      assert.deepEqual(await w.waitGoaway(5000), { code: ERR.NO_ERROR, lastStream: 1 }, `${name}: GOAWAY after its stream`);
      assert.equal(await w.waitClosed(10_000), true, `${name}: closed once its stream ended`);
    }
    assert.deepEqual(
      upstream.requests.map((r) => r.target).sort(),
      ['/late/h2c', '/late/tls', '/slow/h2c', '/slow/tls'],
    );
    // A session that sends no request gets GOAWAY when the grace ends, then is closed.
    assert.equal(await quiet.waitClosed(10_000), true, 'the silent session is closed');
    assert.ok(performance.now() - t0 >= GRACE_MS - 100, `closed ${Math.round(performance.now() - t0)} ms into the drain, before the grace ended`);
    assert.deepEqual(quiet.goaway(), { code: ERR.NO_ERROR, lastStream: 0 });
    await drained;
  } finally {
    for (const w of wires) w.destroy();
    await p.close();
  }
});
