// Drain (SIGTERM): every connection the listener accepted before is served,
// as Envoy drains. Connections still owing their PROXY header, their TLS
// handshake or their first request, and idle keep-alive connections, may
// send a request during the grace and get it answered with Connection:
// close; a request in flight is answered with Connection: close. They used
// to be destroyed (or closed as idle) the moment the drain began, so a
// request already on its way from the load balancer was reset. Wire-timed:
// the clients connect before the drain and speak only after it began.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'node:test';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { ProxyRuntime } from '../../src/proxy/index.ts';
import { createCa } from '../support/pki.ts';
import { cluster, config, route, secureVhost, vhost } from './fixtures.ts';
import { parseResponses, type WireResponse } from './http1-wire.ts';
import { rawUpstream } from './raw-upstream.ts';

const GRACE_MS = 1500;
const SLOW_MS = 600;

/** A connection whose bytes the test sends when it chooses. */
class Client {
  readonly socket: net.Socket;
  private stream: net.Socket | tls.TLSSocket;
  private buf = Buffer.alloc(0);
  closedAt: number | undefined;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.stream = this.socket;
    this.listen(this.socket);
  }
  private listen(s: net.Socket | tls.TLSSocket): void {
    s.on('data', (d: Buffer) => (this.buf = Buffer.concat([this.buf, d])));
    s.on('close', () => (this.closedAt ??= performance.now()));
    s.on('error', () => {});
  }
  connected(): Promise<void> {
    return new Promise((resolve) => (this.socket.readyState === 'open' ? resolve() : this.socket.once('connect', () => resolve())));
  }
  /** Starts TLS on the connection now (the proxy has seen no byte yet). */
  startTls(ca: string, servername: string): Promise<void> {
    const t = tls.connect({ socket: this.socket, servername, ca, ALPNProtocols: ['http/1.1'] });
    this.socket.removeAllListeners('data');
    this.stream = t;
    this.listen(t);
    return new Promise((resolve, reject) => t.once('secureConnect', () => resolve()).once('error', reject));
  }
  send(data: string | Buffer): void {
    this.stream.write(data);
  }
  get responses(): WireResponse[] {
    return parseResponses(this.buf).responses;
  }
  async closed(within: number): Promise<boolean> {
    const deadline = performance.now() + within;
    while (this.closedAt === undefined && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.closedAt !== undefined;
  }
}

const request = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: app.test\r\n\r\n`;

test('drain: every accepted connection is served with Connection: close, idle ones after the grace are closed', { timeout: 30_000 }, async () => {
  const upstream = await rawUpstream({ delay: (r) => (r.target === '/slow' ? SLOW_MS : 0) });
  const ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['app.test'] });
  const clusters = [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])];
  const runtime = new ProxyRuntime({
    listeners: [
      { name: 'http', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: false },
      { name: 'pp', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: true },
      { name: 'https', host: '127.0.0.1', port: 0, tls: true, proxyProtocol: false },
    ],
    drainGraceMs: GRACE_MS,
  });
  runtime.apply(
    config({
      clusters,
      secrets: [{ id: 'default/app', ...cert }],
      httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])],
      httpsVirtualHosts: [secureVhost('app.test', [route({ to: 'app' })], { secretId: 'default/app' })],
    }),
  );
  await runtime.listen();
  const ports = { http: runtime.address('http').port, pp: runtime.address('pp').port, https: runtime.address('https').port };
  const port = (name: keyof typeof ports): number => ports[name];
  const clients: Client[] = [];
  try {
    const idle = new Client(port('http'));
    idle.send(request('/before'));
    const owesProxy = new Client(port('pp'));
    const owesBytes = new Client(port('http'));
    const owesHandshake = new Client(port('https'));
    const inFlight = new Client(port('http'));
    const silent = new Client(port('http'));
    clients.push(idle, owesProxy, owesBytes, owesHandshake, inFlight, silent);
    await Promise.all(clients.map((c) => c.connected()));
    inFlight.send(request('/slow'));
    const deadline = performance.now() + 5000;
    while ((idle.responses.length < 1 || !upstream.requests.some((r) => r.target === '/slow')) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(idle.responses[0]?.status, 200, 'the keep-alive connection served before the drain');
    assert.notEqual(idle.responses[0]?.headers.connection, 'close');

    const t0 = performance.now();
    const drained = runtime.close(20_000);
    // The load balancer accepted these clients before the signal; their
    // requests arrive now.
    await new Promise((r) => setTimeout(r, 150));
    idle.send(request('/idle'));
    owesProxy.send(Buffer.concat([encodeV2({ command: 'PROXY', source: { address: '10.0.0.9', port: 5000 }, destination: { address: '127.0.0.1', port: 80 } }), Buffer.from(request('/proxy'))]));
    owesBytes.send(request('/bytes'));
    await owesHandshake.startTls(ca.certPem, 'app.test');
    owesHandshake.send(request('/tls'));

    for (const [name, c, count] of [
      ['idle keep-alive', idle, 2],
      ['owing its PROXY header', owesProxy, 1],
      ['owing its first bytes', owesBytes, 1],
      ['owing its TLS handshake', owesHandshake, 1],
      ['with a request in flight', inFlight, 1],
    ] as const) {
      assert.equal(await c.closed(10_000), true, `${name}: closed after its response`);
      const last = c.responses.at(-1);
      assert.equal(c.responses.length, count, `${name}: answered`);
      assert.equal(last?.status, 200, `${name}: 200`);
      assert.equal(last?.headers.connection, 'close', `${name}: Connection: close`);
    }
    assert.deepEqual(
      upstream.requests.map((r) => r.target).sort(),
      ['/before', '/bytes', '/idle', '/proxy', '/slow', '/tls'],
    );
    // A connection that says nothing is closed when the grace ends.
    assert.equal(await silent.closed(10_000), true, 'the silent connection is closed');
    assert.ok(silent.closedAt! - t0 >= GRACE_MS - 100, `closed ${Math.round(silent.closedAt! - t0)} ms into the drain, before the grace ended`);
    await drained;
    assert.ok(performance.now() - t0 < 10_000, 'the drain ended once every connection was done');
    // Nothing new is accepted.
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port('http'), '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    assert.equal(refused, true, 'the listener no longer accepts');
  } finally {
    for (const c of clients) c.socket.destroy();
    await runtime.close(0);
    await upstream.close();
  }
});
