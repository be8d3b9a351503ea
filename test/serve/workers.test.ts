// The worker pool with real proxy (and co-located balancer) worker processes
// and config deltas: a re-forked worker, and one that failed to apply a
// delta, end up serving the latest config (never a delta applied on a
// version they do not hold).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { ProxyConfig } from '../../src/dag/proxy-config.ts';
import { ProxyConfigDeltas, type ProxyConfigUpdate } from '../../src/serve/config-delta.ts';
import type { ToBalancerWorker, ToProxyWorker } from '../../src/serve/messages.ts';
import type { BalancerConfig } from '../../src/balancer/balancer-config.ts';
import { WorkerPool } from '../../src/serve/workers.ts';
import { waitFor, freePort } from '../e2e/support.ts';
import { cluster, config, ep, get, httpBackend, route, vhost } from '../proxy/fixtures.ts';

/** A logger whose lines the test can read. */
function capturedLog(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) })), lines };
}

/** "status backend" of a GET for `host` on the proxy's port. */
function servedBy(port: number): (host: string) => Promise<string> {
  return async (host) => {
    const r = await get(port, '/', { host });
    return `${r.status} ${r.headers['x-backend'] ?? '-'}`;
  };
}

function message(u: ProxyConfigUpdate): ToProxyWorker {
  return { type: 'config', version: u.version, ...(u.base !== undefined ? { base: u.base } : {}), config: u.text };
}

test('a re-forked proxy worker, and one that failed a delta, serve the latest config', { timeout: 60_000 }, async () => {
  const a = await httpBackend('a');
  const b = await httpBackend('b');
  const port = await freePort();
  const { logger, lines: logLines } = capturedLog();
  const fatal: string[] = [];
  const deltas = new ProxyConfigDeltas();
  const sent: ToProxyWorker[] = [];
  /** Versions whose delta is sent broken, as if the worker failed it. */
  const breakVersions = new Set<number>();
  const pool = new WorkerPool<ToProxyWorker, ProxyConfig>({
    role: 'proxy',
    count: 1,
    logger,
    init: (workerIndex) => ({
      type: 'init',
      workerIndex,
      logFormat: 'json',
      accessLog: false,
      ticketKeys: randomBytes(48),
      listeners: [{ name: 'http', host: '127.0.0.1', port, tls: false, proxyProtocol: false, reusePort: true }],
    }),
    configMessage: (v, c) => {
      const m = message(deltas.next(v, c));
      if (m.type === 'config' && breakVersions.has(v)) m.config = '{"upsert": broken';
      sent.push(m);
      return m;
    },
    wholeConfigMessage: (v) => {
      const m = message(deltas.whole(v));
      sent.push(m);
      return m;
    },
    onFatal: (message) => fatal.push(message),
  });
  const clusters = [cluster('a', [ep(a)]), cluster('b', [ep(b)])];
  let version = 0;
  let cfg = config({ clusters, httpVirtualHosts: [vhost('one.test', [route({ to: 'a' })])] });
  const apply = (change: (c: ProxyConfig) => ProxyConfig): Promise<void> => {
    cfg = change(cfg);
    return pool.apply(++version, cfg);
  };
  const served = servedBy(port);
  const servesLatest = (expect: Record<string, string>) =>
    waitFor(
      `the worker serves ${JSON.stringify(expect)}`,
      async () => {
        if (!pool.upToDate()) return undefined;
        for (const [host, answer] of Object.entries(expect)) if ((await served(host).catch(() => '')) !== answer) return undefined;
        return true;
      },
      15_000,
    );
  const addHost = (fqdn: string, to: string) => (c: ProxyConfig) => ({
    ...c,
    httpVirtualHosts: [...c.httpVirtualHosts.filter((v) => v.fqdn !== fqdn), vhost(fqdn, [route({ to })])],
  });
  try {
    await pool.start();
    await apply((c) => c);
    await apply(addHost('two.test', 'b'));
    assert.deepEqual(
      sent.map((m) => m.type === 'config' && m.base),
      [undefined, 1],
      'the first config whole, then a delta',
    );
    assert.equal(await served('one.test'), '200 a');
    assert.equal(await served('two.test'), '200 b');

    // The worker dies; deltas are made while its replacement starts.
    const [pid] = pool.pids();
    process.kill(pid!, 'SIGKILL');
    await waitFor('the worker is gone', async () => (pool.pids()[0] !== pid ? true : undefined), 10_000);
    await Promise.all([apply(addHost('three.test', 'a')), apply(addHost('one.test', 'b'))]);
    await servesLatest({ 'one.test': '200 b', 'two.test': '200 b', 'three.test': '200 a' });
    const afterFork = sent.slice(2);
    assert.ok(
      afterFork.some((m) => m.type === 'config' && m.base === undefined && m.version === version),
      'the new worker was sent the latest config whole',
    );

    // A delta the worker cannot apply: it reports it and keeps serving the
    // config before; the next delta is not applied on top of the failure
    // but answered with the whole latest config.
    breakVersions.add(version + 1);
    await apply(addHost('four.test', 'a'));
    assert.equal(fatal.length, 1, fatal.join('; '));
    assert.equal(pool.upToDate(), false);
    assert.equal(await served('one.test'), '200 b', 'the config before keeps serving');
    await apply((c) => ({ ...c, httpVirtualHosts: c.httpVirtualHosts.filter((v) => v.fqdn !== 'two.test') }));
    await servesLatest({ 'one.test': '200 b', 'two.test': '404 -', 'three.test': '200 a', 'four.test': '200 a' });
    const last = sent.at(-1)!;
    assert.ok(last.type === 'config' && last.base === undefined && last.version === version, 'answered with the whole config');
    assert.ok(logLines.some((l) => l.includes('"msg":"worker has no base for a config delta; sending it the whole configuration"')));
  } finally {
    await pool.stop(1000);
    await a.close();
    await b.close();
  }
});

test('a co-located worker that cannot take a proxy delta asks for, and then serves, the whole latest config', { timeout: 60_000 }, async () => {
  const a = await httpBackend('a');
  const b = await httpBackend('b');
  const port = await freePort();
  const stateDir = mkdtempSync(path.join(tmpdir(), 'isobar-colocated-'));
  const { logger, lines: logLines } = capturedLog();
  const fatal: string[] = [];
  const deltas = new ProxyConfigDeltas();
  const sent: ToBalancerWorker[] = [];
  const breakVersions = new Set<number>();
  const balancerConfig: BalancerConfig = { loadBalancers: [] };
  const message = (v: number, u: ProxyConfigUpdate): ToBalancerWorker => ({
    type: 'config',
    version: v,
    config: JSON.stringify(balancerConfig),
    proxyConfig: breakVersions.has(v) && u.base !== undefined ? '{"upsert": broken' : u.text,
    ...(u.base !== undefined ? { proxyBase: u.base } : {}),
  });
  let cfg: ProxyConfig;
  const pool = new WorkerPool<ToBalancerWorker, BalancerConfig>({
    role: 'balancer',
    count: 1,
    logger,
    init: (workerIndex) => ({
      type: 'init',
      workerIndex,
      stateDir,
      logFormat: 'json',
      proxy: { listeners: [{ name: 'http', host: '127.0.0.1', port, tls: false, proxyProtocol: false, reusePort: true }], accessLog: false, ticketKeys: randomBytes(48) },
      ticketKeys: randomBytes(48),
    }),
    configMessage: (v) => {
      const m = message(v, deltas.next(v, cfg));
      sent.push(m);
      return m;
    },
    wholeConfigMessage: (v) => {
      const m = message(v, deltas.whole(v));
      sent.push(m);
      return m;
    },
    onFatal: (m) => fatal.push(m),
  });
  let version = 0;
  const apply = (next: ProxyConfig): Promise<void> => {
    cfg = next;
    return pool.apply(++version, balancerConfig);
  };
  const served = servedBy(port);
  const clusters = [cluster('a', [ep(a)]), cluster('b', [ep(b)])];
  try {
    await pool.start();
    await apply(config({ clusters, httpVirtualHosts: [vhost('one.test', [route({ to: 'a' })])] }));
    assert.equal(await served('one.test'), '200 a');

    // A delta the worker fails: reported, the config before keeps serving.
    breakVersions.add(version + 1);
    await apply(config({ clusters, httpVirtualHosts: [vhost('one.test', [route({ to: 'b' })])] }));
    assert.equal(fatal.length, 1, fatal.join('; '));
    assert.equal(await served('one.test'), '200 a');

    // The next delta has no base in the worker: it asks, and gets both
    // configs whole.
    await apply(config({ clusters, httpVirtualHosts: [vhost('one.test', [route({ to: 'b' })]), vhost('two.test', [route({ to: 'a' })])] }));
    await waitFor(
      'the co-located worker serves the latest config',
      async () => (pool.upToDate() && (await served('one.test')) === '200 b' && (await served('two.test')) === '200 a' ? true : undefined),
      15_000,
    );
    const last = sent.at(-1)!;
    assert.ok(last.type === 'config' && last.proxyBase === undefined && last.version === version, 'answered with the whole config');
    assert.ok(logLines.some((l) => l.includes('"msg":"worker has no base for a config delta; sending it the whole configuration"')));
  } finally {
    await pool.stop(1000);
    await a.close();
    await b.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
