// Upstream policies at run time, against real backends on 127.0.0.1: slow
// start (a new endpoint's share of requests ramps over its window), health
// ports (the check probes another port), TCP connect health checks of a
// TCPProxy, and the config file's cluster.* settings (requests per
// upstream connection, name resolution family, socket buffer limit).
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/wait.ts';
import { createCa, type Ca } from '../support/pki.ts';
import { cluster, config, ep, get, httpBackend, route, secureVhost, startProxy, vhost, wc, type Backend, type Started } from './fixtures.ts';
import type { Cluster } from '../../src/dag/proxy-config.ts';
import { plainConnector, tlsConnector } from '../../src/proxy/upstream-tls.ts';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function backend(name: string, handler?: Parameters<typeof httpBackend>[1]): Promise<Backend> {
  const b = await httpBackend(name, handler ?? ((_req, res) => res.end(name)));
  closers.push(() => b.close());
  return b;
}

async function proxyWith(clusters: Cluster[], extra: Parameters<typeof config>[0] = {}): Promise<Started> {
  const p = await startProxy(config({ clusters, httpVirtualHosts: clusters.map((c) => vhost(`${c.name}.test`, [route({ to: c.name })])), ...extra }));
  closers.push(() => p.close());
  return p;
}

async function count(p: Started, host: string, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await get(p.port(), '/', { host });
    const k = r.status === 200 ? r.body : String(r.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

test('slow start: a new endpoint gets a small share at first and half of the requests once its window is over', async (t) => {
  const old = await backend('old');
  const fresh = await backend('fresh');
  const slowStart = { windowMs: 4000, aggression: 0.2, minWeightPercent: 5 };
  const first = cluster('ss', [ep(old)], { slowStart });
  const p = await proxyWith([first]);
  // The first endpoint ramps too (it is new to the cluster): let its window pass.
  const t0 = performance.now();
  assert.deepEqual(await count(p, 'ss.test', 3), { old: 3 });
  await waitFor('the first endpoint out of slow start', () => performance.now() - t0 > slowStart.windowMs + 200, 10_000, 100);

  const added = cluster('ss', [ep(old), ep(fresh)], { slowStart });
  const applied = performance.now();
  p.proxy.apply(config({ clusters: [added], httpVirtualHosts: [vhost('ss.test', [route({ to: 'ss' })])] }));
  const early = await count(p, 'ss.test', 40);
  const elapsed = performance.now() - applied;
  t.diagnostic(`first 40 requests after the new endpoint joined (${Math.round(elapsed)} ms): ${JSON.stringify(early)}`);
  // Weight 0.05 against 1 for the first 1.6 s (about 2 of 40); without slow start it would be 20.
  assert.ok((early.fresh ?? 0) <= 12, `new endpoint's early share ${JSON.stringify(early)} after ${Math.round(elapsed)} ms`);
  assert.ok((early.old ?? 0) >= 28, JSON.stringify(early));
  const later = await waitFor(
    'the new endpoint at half the requests',
    async () => {
      const c = await count(p, 'ss.test', 20);
      return c.fresh === 10 && c.old === 10 ? c : undefined;
    },
    15_000,
    200,
  );
  assert.ok(performance.now() - applied >= slowStart.windowMs * 0.5, 'the share grew over the window, not at once');
  assert.deepEqual(later, { old: 10, fresh: 10 });
});

test('slow start: an endpoint that passes its health check after failing ramps again', async (t) => {
  let bHealthy = true;
  const a = await backend('a', (req, res) => (req.url === '/healthz' ? res.writeHead(200).end() : res.end('a')));
  const b = await backend('b', (req, res) => (req.url === '/healthz' ? res.writeHead(bHealthy ? 200 : 503).end() : res.end('b')));
  const slowStart = { windowMs: 3000, aggression: 0.2, minWeightPercent: 5 };
  const healthCheck = { path: '/healthz', host: 'hc', intervalMs: 50, timeoutMs: 1000, unhealthyThreshold: 1, healthyThreshold: 1, expectedStatuses: [{ start: 200, end: 201 }] };
  const t0 = performance.now();
  const p = await proxyWith([cluster('ramp', [ep(a), ep(b)], { slowStart, healthCheck })]);
  // Both joined together: they ramp together, sharing equally; let the window pass.
  await waitFor('both endpoints at half the requests', async () => {
    const c = await count(p, 'ramp.test', 20);
    return c.a === 10 && c.b === 10;
  }, 15_000, 200);
  await waitFor('both out of slow start', () => performance.now() - t0 > slowStart.windowMs + 500, 10_000, 100);
  bHealthy = false;
  await waitFor('b out', async () => (await count(p, 'ramp.test', 6)).a === 6, 10_000);
  bHealthy = true;
  await waitFor('b back', async () => (await count(p, 'ramp.test', 2)).b !== undefined || undefined, 10_000, 20);
  const early = await count(p, 'ramp.test', 40);
  t.diagnostic(`first 40 requests after b passed again: ${JSON.stringify(early)}`);
  assert.ok((early.b ?? 0) <= 12, `b's share right after it passed again: ${JSON.stringify(early)}`);
  await waitFor('b at half the requests again', async () => {
    const c = await count(p, 'ramp.test', 20);
    return c.a === 10 && c.b === 10;
  }, 15_000, 200);
});

test('slow start: without it a new endpoint gets half of the requests at once', async () => {
  const a = await backend('a');
  const b = await backend('b');
  const p = await proxyWith([cluster('plain', [ep(a)])]);
  p.proxy.apply(config({ clusters: [cluster('plain', [ep(a), ep(b)])], httpVirtualHosts: [vhost('plain.test', [route({ to: 'plain' })])] }));
  assert.deepEqual(await count(p, 'plain.test', 20), { a: 10, b: 10 });
});

test('health port: the check probes the health port; an endpoint whose health port fails gets no requests, and comes back', async () => {
  let sickHealthy = false;
  const healthProbes: string[] = [];
  const good = await backend('good', (req, res) => res.end(req.url === '/healthz' ? 'traffic port probed' : 'good'));
  const sick = await backend('sick', (req, res) => res.end(req.url === '/healthz' ? 'traffic port probed' : 'sick'));
  // The health ports: separate servers; the traffic ports would pass the check.
  const goodHealth = await backend('good-health', (req, res) => {
    healthProbes.push(`good ${req.url} ${req.headers.host}`);
    res.writeHead(200).end();
  });
  const sickHealth = await backend('sick-health', (req, res) => {
    healthProbes.push(`sick ${req.url}`);
    res.writeHead(sickHealthy ? 200 : 503).end();
  });
  const healthCheck = { path: '/healthz', host: 'contour-envoy-healthcheck', intervalMs: 50, timeoutMs: 1000, unhealthyThreshold: 2, healthyThreshold: 2, expectedStatuses: [{ start: 200, end: 201 }] };
  const p = await proxyWith([
    cluster('hp', [], { healthCheck, endpoints: [{ ...ep(good), healthPort: goodHealth.port }, { ...ep(sick), healthPort: sickHealth.port }] }),
  ]);
  await waitFor('both health ports probed', () => healthProbes.some((x) => x.startsWith('good')) && healthProbes.filter((x) => x.startsWith('sick')).length >= 2);
  await waitFor('the sick endpoint out', async () => (await count(p, 'hp.test', 6)).good === 6);
  assert.deepEqual(await count(p, 'hp.test', 10), { good: 10 });
  assert.equal(good.seen.filter((s) => s.url === '/healthz').length, 0, 'the traffic port is never probed');
  assert.ok(healthProbes.includes(`good /healthz contour-envoy-healthcheck`));
  sickHealthy = true;
  await waitFor('the sick endpoint back', async () => (await count(p, 'hp.test', 6)).sick !== undefined);
});

/** A TCP backend that writes its name to each connection and closes it. */
async function tcpBackend(name: string, port = 0): Promise<{ port: number; close(): Promise<void>; connections: number }> {
  const sockets = new Set<net.Socket>();
  const state = { port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((s) => {
    state.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.end(name);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

function tcpThrough(p: Started, ca: Ca): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: p.port('https'), servername: 'tcp.test', ca: ca.certPem });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('close', () => resolve(out || 'closed'));
    s.on('error', () => {});
  });
}

test('TCP health check: a dead TCPProxy backend stops getting connections, and gets them again once it is back', async () => {
  const ca = await createCa('tcp health CA');
  const cert = await ca.issue({ dnsNames: ['tcp.test'] });
  const alive = await tcpBackend('alive');
  let dying = await tcpBackend('dying');
  const dyingPort = dying.port;
  closers.push(() => alive.close());
  closers.push(() => dying.close());
  const p = await startProxy(
    config({
      clusters: [
        cluster('tcp', [ep({ address: '127.0.0.1', port: alive.port }), ep({ address: '127.0.0.1', port: dyingPort })], {
          tcpHealthCheck: { intervalMs: 50, timeoutMs: 1000, unhealthyThreshold: 2, healthyThreshold: 2 },
        }),
      ],
      secrets: [{ id: 'default/tcp', ...cert }],
      httpsVirtualHosts: [secureVhost('tcp.test', [], { secretId: 'default/tcp', tcpProxy: { clusters: [wc('tcp')] } })],
    }),
    [{ name: 'https', tls: true }],
  );
  closers.push(() => p.close());
  const seen = async (n: number): Promise<Set<string>> => {
    const s = new Set<string>();
    for (let i = 0; i < n; i++) s.add(await tcpThrough(p, ca));
    return s;
  };
  await waitFor('both backends connected to', async () => (await seen(6)).size === 2, 10_000);
  await dying.close();
  await waitFor('health checks failing', () => p.proxy.stats().healthCheckFailures! >= 2, 10_000);
  await waitFor('the dead backend out', async () => [...(await seen(6))].join() === 'alive', 10_000);
  assert.deepEqual([...(await seen(10))], ['alive'], 'no connection goes to the dead backend');
  dying = await tcpBackend('dying', dyingPort);
  await waitFor('the backend back', async () => (await seen(6)).has('dying'), 10_000);
  assert.ok(dying.connections >= 3, 'health checks and then client connections reach it again');
});

test('cluster.max-requests-per-connection: an upstream connection is closed after that many requests', async () => {
  const sockets = new Map<string, number>();
  const b = await backend('b', (req, res) => {
    const k = `${req.socket.remotePort}`;
    sockets.set(k, (sockets.get(k) ?? 0) + 1);
    res.end('b');
  });
  const p = await proxyWith([cluster('limited', [ep(b)], { maxRequestsPerConnection: 2 }), cluster('unlimited', [ep(b)])]);
  for (let i = 0; i < 6; i++) assert.equal((await get(p.port(), '/', { host: 'limited.test' })).status, 200);
  assert.deepEqual([...sockets.values()], [2, 2, 2]);
  sockets.clear();
  for (let i = 0; i < 6; i++) assert.equal((await get(p.port(), '/', { host: 'unlimited.test' })).status, 200);
  assert.deepEqual([...sockets.values()], [6]);
});

test('cluster.dns-lookup-family: an ExternalName host resolves in the family asked for', async () => {
  // localhost has an IPv4 address here and no IPv6 one.
  const b = await backend('v4');
  const at = { address: 'localhost', port: b.port };
  const p = await proxyWith([
    cluster('fam-v4', [at], { dnsLookupFamily: 'v4' }),
    cluster('fam-v6', [at], { dnsLookupFamily: 'v6' }),
    cluster('fam-auto', [at], { dnsLookupFamily: 'auto' }),
    cluster('fam-all', [at], { dnsLookupFamily: 'all' }),
  ]);
  assert.equal((await get(p.port(), '/', { host: 'fam-v4.test' })).body, 'v4');
  assert.equal((await get(p.port(), '/', { host: 'fam-auto.test' })).body, 'v4', 'auto falls back to IPv4');
  assert.equal((await get(p.port(), '/', { host: 'fam-all.test' })).body, 'v4');
  const v6 = await get(p.port(), '/', { host: 'fam-v6.test' });
  assert.equal(v6.status, 503, 'v6 only: no address to connect to');
  assert.equal(b.seen.length, 3);
});

test('cluster.per-connection-buffer-limit-bytes: the upstream sockets get it as their buffer limit', async () => {
  const ca = await createCa('buffer CA');
  const cert = await ca.issue({ dnsNames: ['b.test'] });
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (s) => s.end());
  const plain = net.createServer((s) => s.end());
  await Promise.all([new Promise<void>((r) => server.listen(0, '127.0.0.1', r)), new Promise<void>((r) => plain.listen(0, '127.0.0.1', r))]);
  closers.push(() => new Promise((r) => server.close(() => r())));
  closers.push(() => new Promise((r) => plain.close(() => r())));
  const connect = (c: ReturnType<typeof plainConnector>, port: number) =>
    new Promise<net.Socket>((resolve, reject) => c({ hostname: '127.0.0.1', port, protocol: 'http:' }, (err, s) => (err || !s ? reject(err) : resolve(s))));
  const s1 = await connect(plainConnector(2000, false, { highWaterMark: 4096 }), (plain.address() as net.AddressInfo).port);
  assert.equal(s1.writableHighWaterMark, 4096);
  assert.equal(s1.readableHighWaterMark, 4096);
  s1.destroy();
  const t = tlsConnector({ tls: { minVersion: '1.2', maxVersion: '1.3', sni: 'b.test' }, alpn: [] }, 2000, { highWaterMark: 8192 });
  const s2 = await connect(t, (server.address() as net.AddressInfo).port);
  assert.equal(s2.writableHighWaterMark, 8192);
  s2.destroy();
  const dflt = await connect(plainConnector(2000), (plain.address() as net.AddressInfo).port);
  assert.notEqual(dflt.writableHighWaterMark, 4096);
  dflt.destroy();
});
