// No request may take a proxy worker down. A real proxy worker process
// holds open keep-alive connections while each malformed request line of
// the version table (and a few other bad requests) arrives on a connection
// of its own; after each, the same worker (same pid) answers again on every
// one of the held connections.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import type { ProxyConfig } from '../../src/dag/proxy-config.ts';
import { ProxyConfigDeltas } from '../../src/serve/config-delta.ts';
import type { ToProxyWorker } from '../../src/serve/messages.ts';
import { WorkerPool } from '../../src/serve/workers.ts';
import { freePort } from '../e2e/support.ts';
import { cluster, config, route, vhost } from './fixtures.ts';
import { parseResponses, wire } from './http1-wire.ts';
import { rawUpstream } from './raw-upstream.ts';

const BAD_REQUESTS: string[] = [
  'GET / HTTP/2.0\r\nHost: app.test\r\n\r\n',
  'POST / HTTP/2.0\r\nHost: app.test\r\nContent-Length: 2\r\n\r\nhi',
  'GET / HTTP/0.9\r\nHost: app.test\r\n\r\n',
  'GET /\r\n\r\n',
  'GET / HTTP/1.2\r\nHost: app.test\r\n\r\n',
  'GET / HTTP/3.0\r\nHost: app.test\r\n\r\n',
  'GET / JUNK\r\n\r\n',
  'GET http://app.test/x HTTP/2.0\r\nHost: app.test\r\n\r\n',
  'GET / HTTP/2.0\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
  'GET / HTTP/2.0\r\n\r\n',
  'POST / HTTP/1.0\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n',
];

/** A kept-alive connection: one request at a time, answered in full. */
class Held {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  closed = false;
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    this.socket.on('error', () => {});
  }
  async get(path: string): Promise<number> {
    this.buf = Buffer.alloc(0);
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: app.test\r\n\r\n`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { responses } = parseResponses(this.buf);
      if (responses.length > 0) return responses[0]!.status;
      if (this.closed || Date.now() > deadline) return 0;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
    }
  }
}

test('malformed request lines cost their own connection only: the worker and its other connections live on', { timeout: 90_000 }, async () => {
  process.env.ISOBAR_LOG_LEVEL = 'error';
  const upstream = await rawUpstream();
  const port = await freePort();
  const deltas = new ProxyConfigDeltas();
  const cfg: ProxyConfig = config({ clusters: [cluster('app', [{ address: '127.0.0.1', port: upstream.port }])], httpVirtualHosts: [vhost('app.test', [route({ to: 'app' })])] });
  const message = (version: number, text: string, base?: number): ToProxyWorker => ({ type: 'config', version, config: text, ...(base !== undefined ? { base } : {}) });
  const pool = new WorkerPool<ToProxyWorker, ProxyConfig>({
    role: 'proxy',
    count: 1,
    logger: pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() })),
    init: (workerIndex) => ({
      type: 'init',
      workerIndex,
      logFormat: 'json',
      accessLog: false,
      ticketKeys: randomBytes(48),
      listeners: [{ name: 'http', host: '127.0.0.1', port, tls: false, proxyProtocol: false, reusePort: true }],
    }),
    configMessage: (v, c) => {
      const u = deltas.next(v, c);
      return message(v, u.text, u.base);
    },
    wholeConfigMessage: (v) => message(v, deltas.whole(v).text),
    onFatal: (m) => assert.fail(m),
  });
  const held: Held[] = [];
  try {
    await pool.start();
    await pool.apply(1, cfg);
    const [pid] = pool.pids();
    for (let i = 0; i < 3; i++) held.push(new Held(port));
    for (const [i, h] of held.entries()) assert.equal(await h.get(`/held/${i}`), 200);
    for (const bad of BAD_REQUESTS) {
      const r = await wire(port, bad);
      assert.equal(r.closed, true, `${JSON.stringify(bad)}: connection closed`);
      assert.ok(r.responses.length <= 1 && (r.responses[0]?.status ?? 400) >= 400, `${JSON.stringify(bad)}: refused, got ${r.responses.map((x) => x.status)}`);
      for (const [i, h] of held.entries()) assert.equal(await h.get(`/held/${i}`), 200, `${JSON.stringify(bad)}: held connection ${i} still served`);
      assert.deepEqual(pool.pids(), [pid], `${JSON.stringify(bad)}: the same worker`);
    }
    assert.deepEqual(
      upstream.requests.map((r) => r.target).filter((t) => !t.startsWith('/held/')),
      [],
      'no malformed request reached the upstream',
    );
  } finally {
    for (const h of held) h.socket.destroy();
    await pool.stop(1000);
    await upstream.close();
  }
});
