// timeouts.delayed-close-timeout (Envoy's delayed_close_timeout) on real
// sockets: when the proxy closes a connection after its last response (an
// HTTP/1 Connection: close, an error answer, HTTP/2 after its final
// GOAWAY), it sends its FIN and keeps the socket open until the client
// closes its side or the delay ends, so what the client still sends in the
// meantime is read and dropped instead of drawing an RST (which can destroy
// the response in the client's receive buffer). The clients here never
// close their side: a byte written during the delay goes unanswered, one
// written after it is reset. With the delay disabled the socket is closed
// as soon as the FIN is flushed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import type { DownstreamSettings } from '../../src/proxy/index.ts';
import { createCa } from '../support/pki.ts';
import { RawHttp1 } from '../support/raw-http1.ts';
import { waitFor } from '../support/wait.ts';
import { cluster, config, ep, httpBackend, route, secureVhost, startProxy, vhost, type Backend, type Started } from './fixtures.ts';
import { H2Wire, headers, request } from './h2-wire.ts';

const DELAY_MS = 1500;
const HOST = 'limits.test';

let app: Backend;

before(async () => {
  app = await httpBackend('app');
});

after(async () => {
  await app.close();
});

function proxyWith(delayedCloseMs: number): Promise<Started> {
  const cfg = config({ httpVirtualHosts: [vhost(HOST, [route({ to: 'app' })])], clusters: [cluster('app', [ep(app)])] });
  return startProxy(cfg, [{ name: 'http' }], { downstream: { delayedCloseMs } });
}

/** Resolves once the server's FIN has arrived; the client keeps its side open. */
function finReceived(sock: net.Socket): Promise<number> {
  return new Promise((resolve) => {
    if (sock.readableEnded) return resolve(performance.now());
    sock.once('end', () => resolve(performance.now()));
    sock.resume();
  });
}

/** Writes a byte, and another every 50 ms (the client reads no more after
 *  the FIN, so a reset shows on a write: EPIPE or ECONNRESET); true when
 *  the connection is reset within `ms`. */
async function writeIsReset(sock: net.Socket, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!sock.destroyed && performance.now() < deadline) {
    sock.write('x');
    await new Promise((r) => setTimeout(r, 50));
  }
  return sock.destroyed;
}

const HTTP1_CLOSES: { name: string; send: string; status: number }[] = [
  { name: 'a Connection: close response', send: `GET / HTTP/1.1\r\nhost: ${HOST}\r\nconnection: close\r\n\r\n`, status: 200 },
  { name: 'an error answer (400 for a malformed request)', send: 'GET / HTTP/1.1\r\nhost: limits.test\r\nbad header\r\n\r\n', status: 400 },
  { name: 'an HTTP/1.0 response', send: `GET / HTTP/1.0\r\nhost: ${HOST}\r\n\r\n`, status: 200 },
];

for (const row of HTTP1_CLOSES) {
  test(`HTTP/1 delayed close after ${row.name}: FIN, bytes the client sends in the delay are dropped, the socket closes at its end`, async () => {
    const p = await proxyWith(DELAY_MS);
    try {
      const c = await RawHttp1.open(p.port(), undefined, true);
      c.sock.write(row.send);
      assert.equal((await c.response())?.status, row.status);
      const finAt = await finReceived(c.sock);
      assert.equal(await writeIsReset(c.sock, 400), false, 'a byte sent during the delay is read and dropped');
      assert.equal(await writeIsReset(c.sock, 300), false, 'and another');
      // After the delay the proxy's socket is gone: the next byte is reset.
      await new Promise((r) => setTimeout(r, Math.max(0, finAt + DELAY_MS + 300 - performance.now())));
      assert.equal(await writeIsReset(c.sock, 5000), true, 'reset once the delay is over');
    } finally {
      await p.close();
    }
  });
}

test('HTTP/1 with the delay disabled: the socket is closed once the FIN is flushed, a byte after it is reset', async () => {
  const p = await proxyWith(0);
  try {
    for (const row of HTTP1_CLOSES) {
      const c = await RawHttp1.open(p.port(), undefined, true);
      c.sock.write(row.send);
      assert.equal((await c.response())?.status, row.status, row.name);
      await finReceived(c.sock);
      assert.equal(await writeIsReset(c.sock, 1000), true, `${row.name}: reset at once`);
    }
  } finally {
    await p.close();
  }
});

test('HTTP/1 delayed close ends early when the client closes its side', async () => {
  const p = await proxyWith(60_000);
  try {
    const c = await RawHttp1.open(p.port(), undefined, true);
    c.send('/', { connection: 'close' });
    assert.equal((await c.response())?.status, 200);
    await finReceived(c.sock);
    c.sock.end();
    await waitFor('closed', () => c.closed, 5000);
    // Long before the 60 s delay.
    await waitFor('the proxy holds no connection', () => p.proxy.metricsSource(0).listeners[0]!.cxActive === 0 || undefined, 5000);
  } finally {
    await p.close();
  }
});

/** A connection to the proxy whose client side stays open after the proxy's FIN. */
async function halfOpen(port: number, ca?: string): Promise<net.Socket> {
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
  if (ca === undefined) return raw;
  const t = tls.connect({ socket: raw, servername: HOST, ca, ALPNProtocols: ['h2'], allowHalfOpen: true } as tls.ConnectionOptions);
  t.on('error', () => {});
  await new Promise((resolve) => t.once('secureConnect', resolve));
  return t as unknown as net.Socket;
}

const HTTP2_ROWS: { name: string; tls: boolean; downstream: DownstreamSettings }[] = [
  { name: 'h2c', tls: false, downstream: {} },
  { name: 'TLS', tls: true, downstream: {} },
  // TLS sessions then sit on a JS stream (for the shutdown notice).
  { name: 'TLS with a shutdown grace period', tls: true, downstream: { http2ShutdownGraceMs: 1000 } },
];

for (const row of HTTP2_ROWS) {
  test(`HTTP/2 (${row.name}) delayed close after the final GOAWAY: FIN, bytes sent in the delay are dropped, then the socket closes; disabled, it closes at once`, async () => {
    const ca = await createCa();
    const cert = await ca.issue({ dnsNames: [HOST] });
    const routes = [route({ to: 'app' })];
    const cfg = config({
      httpVirtualHosts: [vhost(HOST, routes)],
      httpsVirtualHosts: [secureVhost(HOST, routes, { secretId: 'default/app' })],
      secrets: [{ id: 'default/app', ...cert }],
      clusters: [cluster('app', [ep(app)])],
    });
    for (const delay of [DELAY_MS, 0]) {
      const p = await startProxy(cfg, [{ name: 'http' }, { name: 'https', tls: true }], { downstream: { ...row.downstream, delayedCloseMs: delay, maxRequestsPerConnection: 1 } });
      try {
        const socket = await halfOpen(p.port(row.tls ? 'https' : 'http'), row.tls ? ca.certPem : undefined);
        const fin = finReceived(socket);
        const w = await H2Wire.connect({ port: 0, socket });
        await w.send(headers(1, request(HOST, '/')));
        assert.equal((await w.outcome(1, 5000))?.status, 200);
        assert.equal((await w.waitGoaway(5000))?.lastStream, 1);
        const finAt = await fin;
        if (delay === 0) {
          assert.equal(await writeIsReset(socket, 1000), true, 'disabled: reset at once');
          continue;
        }
        assert.equal(await writeIsReset(socket, 400), false, 'a byte sent during the delay is dropped');
        await new Promise((r) => setTimeout(r, Math.max(0, finAt + delay + 300 - performance.now())));
        assert.equal(await writeIsReset(socket, 5000), true, 'reset once the delay is over');
      } finally {
        await p.close();
      }
    }
  });
}
