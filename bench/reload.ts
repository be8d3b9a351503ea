// `node bench/reload.ts`: reload latency of `isobar serve`, from a manifest
// saved in the watched folder to the first request served by the new route,
// with 100, 1,000 and 10,000 HTTPProxies already loaded. See bench/README.md.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setup, WORK_DIR } from './setup.ts';
import { startBackend } from './lib/backend.ts';
import { startServer, stop, isRunning, processTree, type Managed, runMain } from './lib/procs.ts';
import { freePorts, waitForPort, LOOPBACK } from './lib/ports.ts';
import * as isobar from './lib/peers/isobar.ts';
import { backendYaml, manyProxies, proxyYaml } from './lib/httpproxies.ts';
import os from 'node:os';
import { machineDetails, median } from './lib/report.ts';

const USAGE = `usage: node bench/reload.ts [--counts 100,1000,10000] [--samples N] [--workers N] [--quick] [--isobar-commit REF] [--out FILE]
  --counts LIST   HTTPProxies loaded before the measured edits (default 100,1000,10000)
  --samples N     measured edits per count (default 10; --quick: 3)
  --workers N     isobar --workers (default 2)
  --quick         counts 100,1000 and 3 samples
  --isobar-commit REF  measure isobar as committed at REF (git archive into the temp dir), not the working tree
  --out FILE      Markdown report (default bench/results/<date>-reload.md; --quick: bench/work/)`;

const log = (s: string) => process.stderr.write(s + '\n');

/** One GET over a fresh connection (so reusePort spreads them over workers). */
function probe(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: LOOPBACK, port, path: '/64', headers: { host }, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

async function until200(port: number, host: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if ((await probe(port, host)) === 200) return true;
  }
  return false;
}

function rssMiB(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

interface CountResult {
  count: number;
  startupMs: number;
  rssMiB: number;
  firstMs: number[];
  /** until 20 requests in a row on new connections all got the new route */
  stableMs: number[];
  missed: number;
}

async function measureCount(count: number, samples: number, workers: number, plainPort: number, dir: string): Promise<CountResult> {
  rmSync(dir, { recursive: true, force: true });
  const manifests = path.join(dir, 'manifests');
  const stateDir = path.join(dir, 'state');
  mkdirSync(manifests, { recursive: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(manifests, 'backend.yaml'), backendYaml(plainPort));
  writeFileSync(path.join(manifests, 'proxies.yaml'), manyProxies(count));

  const [httpPort, httpsPort, adminPort] = (await freePorts(3)) as [number, number, number];
  const args = [
    isobar.ISOBAR, 'serve', manifests, '--state-dir', stateDir, '--http-port', String(httpPort), '--https-port', String(httpsPort),
    '--admin-port', String(adminPort), '--workers', String(workers), '--no-access-log',
  ];
  const t0 = performance.now();
  const proc: Managed = startServer('isobar serve', isobar.NODE, args, path.join(dir, 'serve.log'));
  try {
    await waitForPort(httpPort, 300_000, 'isobar serve', () => isRunning(proc));
    if (!(await until200(httpPort, `r${count - 1}.example.test`, 300_000))) throw new Error(`the last of ${count} HTTPProxies never served`);
    const startupMs = performance.now() - t0;
    const rss = rssMiB(proc.pid);
    log(`reload: ${count} HTTPProxies serving after ${startupMs.toFixed(0)} ms, RSS ${rss.toFixed(0)} MiB`);
    const firstMs: number[] = [];
    const stableMs: number[] = [];
    let missed = 0;
    for (let k = 0; k < samples; k++) {
      const host = `new${k}.example.test`;
      if ((await probe(httpPort, host)) === 200) throw new Error(`${host} served before it was added`);
      const start = performance.now();
      writeFileSync(path.join(manifests, `new${k}.yaml`), proxyYaml(`new${k}`, host));
      if (!(await until200(httpPort, host, 30_000))) {
        missed++;
        log(`reload: ${count}: edit ${k} not served within 30 s`);
        continue;
      }
      const first = performance.now() - start;
      let streak = 0;
      while (streak < 20 && performance.now() - start < 30_000) streak = (await probe(httpPort, host)) === 200 ? streak + 1 : 0;
      const stable = performance.now() - start;
      firstMs.push(first);
      stableMs.push(stable);
      log(`reload: ${count}: edit ${k}: first request ${first.toFixed(1)} ms, 20 in a row ${stable.toFixed(1)} ms`);
      // Let the edit settle before the next one.
      await new Promise((r) => setTimeout(r, 300));
    }
    return { count, startupMs, rssMiB: rss, firstMs, stableMs, missed };
  } finally {
    await stop(proc, 35_000);
  }
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { 'isobar-commit': { type: 'string' }, counts: { type: 'string' }, samples: { type: 'string' }, workers: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean' } },
    }));
  } catch (err) {
    process.stderr.write(`reload: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const quick = Boolean(values.quick);
  const counts = (values.counts ?? (quick ? '100,1000' : '100,1000,10000')).split(',').map((s) => Number(s.trim()));
  const samples = Number(values.samples ?? (quick ? 3 : 10));
  const workers = Number(values.workers ?? 2);
  for (const [name, v] of [['counts', counts], ['samples', [samples]], ['workers', [workers]]] as const) {
    if (v.some((x) => !Number.isInteger(x) || x < 1)) {
      process.stderr.write(`reload: --${name} must be positive integers\n${USAGE}\n`);
      process.exit(2);
    }
  }
  if (values['isobar-commit']) isobar.useIsobarCheckout(await isobar.exportCommit(values['isobar-commit'], os.tmpdir()));
  const why = await isobar.isobarServeAvailable();
  if (why) throw new Error(`cannot measure reload latency: ${why}`);

  const pki = await setup();
  const runDir = path.join(WORK_DIR, 'reload');
  mkdirSync(runDir, { recursive: true });
  const backend = await startBackend(runDir, pki, 1);
  const results: CountResult[] = [];
  for (const count of counts) results.push(await measureCount(count, samples, workers, backend.ports.plain, path.join(runDir, `n${count}`)));

  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# isobar reload latency, ${date}`,
    '',
    ...[...(await machineDetails(isobar.NODE)), `isobar: ${await isobar.isobarVersion()}`].map((m) => `- ${m}`),
    '',
    `Method: \`isobar serve --workers ${workers}\` watching a folder with N HTTPProxies (one file) routing to a plain backend. Each edit writes a new file`,
    'with one more HTTPProxy (a new host); the clock runs from just before the write until the first request for that host, on a new',
    'connection to the proxy\'s HTTP listener, gets 200 from the backend ("first"), and until 20 requests in a row on new connections',
    `(spread over the workers) all get 200 ("all workers"). ${samples} edits per N, 300 ms apart.`,
    '',
    '| HTTPProxies | startup to serving (ms) | RSS, all processes (MiB) | first request, median (ms) | first, max (ms) | all workers, median (ms) | all workers, max (ms) | edits not served in 30 s |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.count.toLocaleString('en-US')} | ${r.startupMs.toFixed(0)} | ${r.rssMiB.toFixed(0)} | ${median(r.firstMs).toFixed(1)} | ${Math.max(...r.firstMs).toFixed(1)} | ${median(r.stableMs).toFixed(1)} | ${Math.max(...r.stableMs).toFixed(1)} | ${r.missed} |`,
    ),
    '',
    'Target: <= 200 ms at 10,000 HTTPProxies.',
    '',
  ];
  const report = lines.join('\n');
  process.stdout.write(report + '\n');
  const out = values.out ?? (quick ? path.join(runDir, `quick-reload-${date}.md`) : path.join(import.meta.dirname, 'results', `${date}-reload.md`));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, report);
  log(`reload: report written to ${out}`);
}

await runMain('reload', main);
