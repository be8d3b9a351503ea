import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { createCa } from '../support/pki.ts';
import { cluster, config, ep, route, secureVhost, startProxy, vhost, type Started } from './fixtures.ts';

let server: http.Server;
let wss: WebSocketServer;
let port: number;
let p: Started;
const seenHeaders: http.IncomingHttpHeaders[] = [];

before(async () => {
  server = http.createServer((_req, res) => res.end('plain'));
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    seenHeaders.push(req.headers);
    ws.on('message', (m) => ws.send(`echo:${m.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
  p = await startProxy(
    config({
      clusters: [cluster('ws', [ep({ address: '127.0.0.1', port })])],
      httpVirtualHosts: [
        vhost('ws.test', [
          route({ path: { kind: 'prefix', value: '/ws' }, to: 'ws', websocket: true }),
          route({ path: { kind: 'prefix', value: '/' }, to: 'ws' }),
        ]),
      ],
    }),
  );
});

after(async () => {
  await p.close();
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

test('websocket upgrade through the proxy on a websocket route', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${p.port()}/ws/chat`, { headers: { host: 'ws.test' } });
  const replies: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      ws.send('one');
      ws.send('two');
    });
    ws.on('message', (m) => {
      replies.push(m.toString());
      if (replies.length === 2) resolve();
    });
    ws.on('error', reject);
  });
  assert.deepEqual(replies, ['echo:one', 'echo:two']);
  const h = seenHeaders.at(-1)!;
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h.upgrade, 'websocket');
  await new Promise<void>((r) => {
    ws.on('close', () => r());
    ws.close();
  });
  assert.ok(p.proxy.stats().websocketUpgrades! >= 1);
});

test('upgrade on a route without websockets is refused with 403', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${p.port()}/other`, { headers: { host: 'ws.test' } });
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
  assert.equal(status, 403);
});

test('upgrade for an unknown host is 404', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${p.port()}/ws`, { headers: { host: 'nope.test' } });
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
  assert.equal(status, 404);
});

test('wss: websocket over the TLS listener, logged with status 101', async () => {
  const ca = await createCa();
  const cert = await ca.issue({ dnsNames: ['ws.test'] });
  const q = await startProxy(
    config({
      clusters: [cluster('ws', [ep({ address: '127.0.0.1', port })])],
      secrets: [{ id: 'default/ws', ...cert }],
      httpsVirtualHosts: [secureVhost('ws.test', [route({ to: 'ws', websocket: true })], { secretId: 'default/ws' })],
    }),
    [{ name: 'https', tls: true }],
  );
  try {
    const ws = new WebSocket(`wss://127.0.0.1:${q.port()}/secure`, {
      headers: { host: 'ws.test' },
      servername: 'ws.test',
      ca: ca.certPem,
    } as WebSocket.ClientOptions);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('tls'));
      ws.on('message', (m) => resolve(m.toString()));
      ws.on('error', reject);
    });
    assert.equal(reply, 'echo:tls');
    assert.equal(seenHeaders.at(-1)!['x-forwarded-proto'], 'https');
    await new Promise<void>((r) => {
      ws.on('close', () => r());
      ws.close();
    });
    for (let i = 0; i < 100 && !q.logs.some((l) => l.status === 101); i++) await new Promise((r) => setTimeout(r, 10));
    const entry = q.logs.find((l) => l.status === 101);
    assert.ok(entry);
    assert.equal(entry.upstreamCluster, 'ws');
    assert.equal(entry.path, '/secure');
  } finally {
    await q.close();
  }
});

test('an upstream that refuses the upgrade: its answer is relayed; an unreachable one: 503', async () => {
  const refuser = http.createServer((_req, res) => res.end('plain'));
  refuser.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 6\r\nconnection: close\r\n\r\nno-ws!'));
  await new Promise<void>((r) => refuser.listen(0, '127.0.0.1', () => r()));
  const q = await startProxy(
    config({
      clusters: [
        cluster('refuser', [ep({ address: '127.0.0.1', port: (refuser.address() as net.AddressInfo).port })]),
        cluster('gone', [{ address: '127.0.0.1', port: 1 }]),
      ],
      httpVirtualHosts: [
        vhost('ws.test', [
          route({ path: { kind: 'prefix', value: '/gone' }, to: 'gone', websocket: true }),
          route({ to: 'refuser', websocket: true }),
        ]),
      ],
    }),
  );
  const statusOf = (path: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${q.port()}${path}`, { headers: { host: 'ws.test' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
  try {
    assert.equal(await statusOf('/x'), 400);
    assert.equal(await statusOf('/gone'), 503);
  } finally {
    await q.close();
    refuser.closeAllConnections();
    await new Promise<void>((r) => refuser.close(() => r()));
  }
});

/** An upgrade request written by hand (clients send origin form), answered head only. */
function rawUpgrade(target: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p.port(), '127.0.0.1', () => {
      s.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end >= 0) {
        s.destroy();
        resolve(got.slice(0, end));
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

test("an absolute-form target's authority routes the upgrade, not Host (RFC 9112 §3.2.2), and is the Host upstream", async () => {
  const before = seenHeaders.length;
  const head = await rawUpgrade('http://ws.test/ws/abs?x=1', 'nope.test');
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.equal(seenHeaders.length, before + 1);
  assert.equal(seenHeaders.at(-1)!.host, 'ws.test');
  // The other way round: Host names the virtual host, the target another one.
  assert.match(await rawUpgrade('http://nope.test/ws/abs', 'ws.test'), /^HTTP\/1\.1 404 /);
  // A target that is neither form, or names another scheme: 400.
  assert.match(await rawUpgrade('ftp://ws.test/ws', 'ws.test'), /^HTTP\/1\.1 400 /);
  assert.match(await rawUpgrade('ws/abs', 'ws.test'), /^HTTP\/1\.1 400 /);
  assert.equal(seenHeaders.length, before + 1);
});
