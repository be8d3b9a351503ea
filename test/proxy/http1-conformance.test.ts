// The HTTP/1 conformance suite (cases in http1-cases.ts): raw bytes in, the
// statuses out, whether the connection stays in step or closes, and exactly
// what a recording upstream received. It runs three ways: on the proxy's
// own listener (in-process, as a proxy worker runs it), on the load
// balancer's listener of the proxy (a PROXY v2 header first), and through
// a real co-located worker process, load balancer listener in front. On
// top of each case: no request the client did not send whole, and nothing
// smuggled, ever reaches the upstream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { BalancerConfig } from '../../src/balancer/balancer-config.ts';
import type { ProxyConfig } from '../../src/dag/proxy-config.ts';
import { encodeV2 } from '../../src/proxyprotocol/index.ts';
import { ProxyConfigDeltas } from '../../src/serve/config-delta.ts';
import type { ToBalancerWorker } from '../../src/serve/messages.ts';
import { WorkerPool } from '../../src/serve/workers.ts';
import { configOf, listener } from '../balancer/support.ts';
import { freePort } from '../e2e/support.ts';
import { cluster, config, route, startProxy, vhost, type Started } from './fixtures.ts';
import { HOST, HTTP1_CASES, OTHER, PROBE, type Http1Case } from './http1-cases.ts';
import { rawUpstream, type RawUpstream, type UpstreamRequest } from './raw-upstream.ts';
import { wire, type WireOptions } from './http1-wire.ts';

let upstream: RawUpstream;
let proxy: Started;

function proxyConfig(u: RawUpstream): ProxyConfig {
  return config({
    clusters: [cluster('app', [{ address: '127.0.0.1', port: u.port }])],
    httpVirtualHosts: [vhost(HOST, [route({ to: 'app' })]), vhost(OTHER, [route({ to: 'app' })])],
  });
}

before(async () => {
  // A slow POST shows whether a pipelined request behind it overtakes it.
  upstream = await rawUpstream({ delay: (r) => (r.target.includes('slow') ? 150 : 0) });
  proxy = await startProxy(proxyConfig(upstream), [{ name: 'http' }, { name: 'lb-http', proxyProtocol: true }]);
});

after(async () => {
  await proxy?.close();
  await upstream?.close();
});

const shown = (r: UpstreamRequest): string => `${r.method} ${r.target}${r.body ? ` <${r.body}>` : ''}`;

/** Runs one case; returns what differs from the case's expectations. */
async function runCase(c: Http1Case, port: number, extra: WireOptions): Promise<string[]> {
  upstream.reset();
  const keep = c.conn === 'keep';
  // A kept connection is probed once its responses are in; a closing one is read until it closes.
  const r = await wire(port, c.bytes, { ...extra, ...(keep ? { expect: c.statuses.length, probe: PROBE } : {}) });
  // A request the proxy forwarded just before closing may still be on its way.
  if (!keep) await new Promise((res) => setTimeout(res, 5));
  const problems: string[] = [];
  const statuses = r.responses.map((x) => x.status);
  const want = c.statuses.map((s) => (typeof s === 'number' ? String(s) : s.join('|')));
  const matches = statuses.length === c.statuses.length && c.statuses.every((s, i) => (typeof s === 'number' ? s === statuses[i] : s.includes(statuses[i]!)));
  if (!matches) problems.push(`statuses ${statuses.join() || 'none'}, want ${want.join() || 'none'}`);
  if (keep && !r.probed) problems.push(`connection not kept in step (closed: ${r.closed})`);
  if (!keep && !r.closed) problems.push('connection not closed');
  if (r.junk) problems.push(`bytes that are no response: ${JSON.stringify(r.junk.slice(0, 80))}`);
  const got = upstream.requests.filter((x) => x.target !== '/probe');
  const seen = got.map(shown);
  if (seen.join('|') !== c.upstream.join('|')) problems.push(`upstream got ${JSON.stringify(seen)}, want ${JSON.stringify(c.upstream)}`);
  if (got.some((x) => x.target === '/smuggled' || x.target === '/never') && !c.upstream.some((u) => u.includes('/smuggled'))) problems.push('a smuggled request reached the upstream');
  for (const [name, values] of c.fields ?? []) {
    const have = got[0] ? upstream.field(got[0], name) : [];
    if (have.join('|') !== values.join('|')) problems.push(`upstream field ${name}: ${JSON.stringify(have)}, want ${JSON.stringify(values)}`);
  }
  if (upstream.errors.length) problems.push(`upstream could not parse: ${upstream.errors.join('; ')}`);
  return problems;
}

const groups = [...new Set(HTTP1_CASES.map((c) => c.group))];

function suite(mode: string, target: () => { port: number; extra: WireOptions }): void {
  for (const group of groups) {
    const rows = HTTP1_CASES.filter((c) => c.group === group);
    test(`${mode}: ${group} (${rows.length} cases)`, async () => {
      const failures: string[] = [];
      const { port, extra } = target();
      for (const c of rows) {
        const problems = await runCase(c, port, extra);
        if (problems.length) failures.push(`${c.name}: ${problems.join('; ')}`);
      }
      assert.deepEqual(failures, [], `${failures.length} of ${rows.length} cases failed:\n${failures.join('\n')}`);
    });
  }
}

test(`the suite has ${HTTP1_CASES.length} cases per mode`, () => {
  assert.ok(HTTP1_CASES.length >= 300, String(HTTP1_CASES.length));
  const names = HTTP1_CASES.map((c) => `${c.group}: ${c.name}`);
  assert.equal(new Set(names).size, names.length, 'case names are unique');
});

describe('the proxy listener', () => suite('proxy listener', () => ({ port: proxy.port('http'), extra: {} })));

const PROXY_HEADER = encodeV2({ command: 'PROXY', source: { address: '10.0.0.7', port: 40000 }, destination: { address: '127.0.0.1', port: 80 } });
describe('the load balancer listener of the proxy (PROXY v2)', () => suite('behind a PROXY header', () => ({ port: proxy.port('lb-http'), extra: { prefix: PROXY_HEADER } })));

describe('co-located: a real worker process, load balancer in front', { timeout: 120_000 }, () => {
  let pool: WorkerPool<ToBalancerWorker, BalancerConfig> | undefined;
  let stateDir = '';
  let lbPort = 0;
  before(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'isobar-h1-'));
    lbPort = await freePort();
    const proxyPort = await freePort();
    const deltas = new ProxyConfigDeltas();
    const cfg = proxyConfig(upstream);
    const balancerConfig = configOf(listener({ id: 'default/web:80', servicePort: 80, bindPort: lbPort, proxyProtocol: true, targets: [{ kind: 'proxy-http', address: '', port: 0 }] }));
    const message = (v: number, text: string, base?: number): ToBalancerWorker => ({
      type: 'config',
      version: v,
      config: JSON.stringify(balancerConfig),
      proxyConfig: text,
      ...(base !== undefined ? { proxyBase: base } : {}),
    });
    const quiet = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
    pool = new WorkerPool<ToBalancerWorker, BalancerConfig>({
      role: 'balancer',
      count: 1,
      logger: quiet,
      init: (workerIndex) => ({
        type: 'init',
        workerIndex,
        stateDir,
        logFormat: 'json',
        proxyTargets: { http: { address: '127.0.0.1', port: proxyPort }, https: { address: '127.0.0.1', port: 1 } },
        proxy: { listeners: [{ name: 'lb-http', host: '127.0.0.1', port: proxyPort, tls: false, proxyProtocol: true, reusePort: true }], accessLog: false, ticketKeys: randomBytes(48) },
        ticketKeys: randomBytes(48),
      }),
      configMessage: (v) => {
        const u = deltas.next(v, cfg);
        return message(v, u.text, u.base);
      },
      wholeConfigMessage: (v) => message(v, deltas.whole(v).text),
      onFatal: (m) => assert.fail(m),
    });
    await pool.start();
    await pool.apply(1, balancerConfig);
  });
  after(async () => {
    await pool?.stop(1000);
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });
  suite('co-located', () => ({ port: lbPort, extra: {} }));
});
