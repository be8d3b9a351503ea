import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Agent, request } from 'undici';
import { after, before, test } from 'node:test';
import { ProxyRuntime } from '../../src/proxy/index.ts';
import { cluster, config, ep, get, httpBackend, route, startProxy, vhost, type Backend } from './fixtures.ts';
import type { ProxyConfig } from '../../src/dag/proxy-config.ts';

let a: Backend;
let b: Backend;
let slow: Backend;

before(async () => {
  a = await httpBackend('a', (_req, res) => res.end('a'));
  b = await httpBackend('b', (_req, res) => res.end('b'));
  slow = await httpBackend('slow', (_req, res) => setTimeout(() => res.end('slow-done'), 400));
});

after(async () => {
  await Promise.all([a.close(), b.close(), slow.close()]);
});

function cfgTo(name: 'a' | 'b'): ProxyConfig {
  const backend = name === 'a' ? a : b;
  return config({
    clusters: [cluster(name, [ep(backend)]), cluster('slow', [ep(slow)])],
    httpVirtualHosts: [
      vhost('swap.test', [route({ path: { kind: 'prefix', value: '/slow' }, to: 'slow' }), route({ to: name })]),
    ],
  });
}

test('config swaps under load lose no request', async () => {
  const p = await startProxy(cfgTo('a'));
  const agent = new Agent({ connections: 32 });
  let stop = false;
  let sent = 0;
  let okCount = 0;
  const failures: string[] = [];
  const seen = new Set<string>();
  const workers = Array.from({ length: 24 }, async () => {
    while (!stop) {
      sent++;
      try {
        const r = await request(`http://127.0.0.1:${p.port()}/x`, { headers: { host: 'swap.test' }, dispatcher: agent });
        const body = await r.body.text();
        if (r.statusCode === 200 && (body === 'a' || body === 'b')) {
          okCount++;
          seen.add(body);
        } else failures.push(`${r.statusCode} ${body}`);
      } catch (err) {
        failures.push(String(err));
      }
    }
  });
  let swaps = 0;
  const swapper = (async () => {
    for (let i = 0; i < 40; i++) {
      p.proxy.apply(cfgTo(i % 2 === 0 ? 'b' : 'a'));
      swaps++;
      await new Promise((r) => setTimeout(r, 15));
    }
    stop = true;
  })();
  await swapper;
  await Promise.all(workers);
  assert.equal(p.proxy.stats().activeRequests, 0);
  await agent.close();
  await p.close();
  assert.deepEqual(failures, []);
  assert.equal(okCount, sent);
  assert.ok(sent > 100, `only ${sent} requests`);
  assert.deepEqual([...seen].sort(), ['a', 'b']);
  assert.equal(swaps, 40);
});

test('an in-flight request finishes on its config after its cluster is removed', async () => {
  const p = await startProxy(cfgTo('a'));
  try {
    const pending = get(p.port(), '/slow', { host: 'swap.test' });
    await new Promise((r) => setTimeout(r, 100));
    // New config without the slow cluster or route.
    p.proxy.apply(config({ clusters: [cluster('a', [ep(a)])], httpVirtualHosts: [vhost('swap.test', [route({ to: 'a' })])] }));
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'slow-done');
    const after = await get(p.port(), '/slow', { host: 'swap.test' });
    assert.equal(after.body, 'a');
  } finally {
    await p.close();
  }
});

test('pools of unchanged clusters survive a swap (no new upstream connection)', async () => {
  let conns = 0;
  const server = http.createServer((_req, res) => res.end('counted'));
  server.on('connection', () => conns++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const cfg = (): ProxyConfig =>
    config({ clusters: [cluster('c', [{ address: '127.0.0.1', port }])], httpVirtualHosts: [vhost('swap.test', [route({ to: 'c' })])] });
  const p = await startProxy(cfg());
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get(p.port(), '/x', { host: 'swap.test' })).body, 'counted');
    assert.equal(conns, 1);
    p.proxy.apply(cfg());
    p.proxy.apply(cfg());
    for (let i = 0; i < 3; i++) assert.equal((await get(p.port(), '/x', { host: 'swap.test' })).body, 'counted');
    assert.equal(conns, 1);
  } finally {
    await p.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('listen reports the address in use', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  const p = new ProxyRuntime({ listeners: [{ name: 'http', host: '127.0.0.1', port, tls: false, proxyProtocol: false }] });
  try {
    await assert.rejects(p.listen(), new RegExp(`127\\.0\\.0\\.1:${port}.*address already in use`));
  } finally {
    await p.close(0);
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});

test('close drains in-flight requests within the timeout', async () => {
  const p = await startProxy(cfgTo('a'));
  const port = p.port();
  const pending = get(port, '/slow', { host: 'swap.test' });
  await new Promise((r) => setTimeout(r, 100));
  const closing = p.proxy.close(5000);
  const r = await pending;
  assert.equal(r.body, 'slow-done');
  await closing;
  await assert.rejects(get(port, '/x', { host: 'swap.test' }));
});

test('close does not wait for connections that never sent a request (PROXY header, TLS or first bytes pending)', { timeout: 20_000 }, async () => {
  const p = await startProxy(cfgTo('a'), [{ name: 'plain' }, { name: 'pp', proxyProtocol: true }, { name: 'tls', tls: true }]);
  const idle = await Promise.all(
    ['plain', 'pp', 'tls'].map(
      (name) =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(p.port(name), '127.0.0.1', () => resolve(s));
          s.on('error', () => {});
        }),
    ),
  );
  const closed = idle.map((s) => new Promise<void>((r) => s.once('close', () => r())));
  // A drain deadline far beyond the test's own time limit: close() must not need it.
  await p.proxy.close(60_000);
  await Promise.all(closed);
});
