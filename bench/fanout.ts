// `node bench/fanout.ts`: how the configuration reaches N workers. For each
// worker count, `isobar serve --workers N` starts on a folder with 10,000
// HTTPProxies; the primary's debug log says how long pushing a version to
// every worker took (`configuration applied`, applyMs: from the first send to
// the last worker's "applied"), for the first, whole configuration and for
// edits of one HTTPProxy (deltas); the workers' own lines say what parsing
// and applying cost each. Also the resident memory of each kind of process.
// Written up in bench/scaling.md.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WORK_DIR } from './setup.ts';
import { startServer, stop, isRunning, processTree, type Managed, runMain } from './lib/procs.ts';
import { freePorts, waitForPort } from './lib/ports.ts';
import * as isobar from './lib/peers/isobar.ts';
import { backendYaml, manyProxies, proxyYaml } from './lib/httpproxies.ts';
import { labelProcesses } from './lib/profile.ts';
import { machineDetails, median } from './lib/report.ts';

const USAGE = `usage: node bench/fanout.ts [--workers 1,2,4,8,16] [--count 10000] [--edits N] [--out FILE]
  --workers LIST  worker counts to measure (default 1,2,4,8,16)
  --count N       HTTPProxies loaded (default 10000)
  --edits N       one-HTTPProxy edits measured per worker count (default 5)
  --out FILE      Markdown report (default bench/work/fanout/fanout-<date>.md)`;

const log = (s: string) => process.stderr.write(s + '\n');

interface LogLine {
  msg?: string;
  version?: number;
  applyMs?: number;
  buildMs?: number;
  parseMs?: number;
  role?: string;
}

function readLog(file: string): LogLine[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as LogLine);
    } catch {
      /* a line being written */
    }
  }
  return out;
}

async function waitApplied(file: string, version: number, alive: () => boolean, timeoutMs: number, msg = 'configuration applied'): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('isobar serve exited');
    const hit = readLog(file).find((l) => l.msg === msg && (l.version ?? 0) >= version);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`version ${version} was not applied within ${timeoutMs} ms`);
}

function rssByRole(root: number): Record<string, number[]> {
  const pids = processTree(root);
  const labels = labelProcesses(pids);
  const out: Record<string, number[]> = {};
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) continue;
      const role = labels.get(pid) ?? 'other';
      (out[role] ??= []).push(Number(m[1]) / 1024);
    } catch {
      /* gone */
    }
  }
  return out;
}

interface Result {
  workers: number;
  startupMs: number;
  wholeMs: number;
  wholeParseMs: number[];
  wholeApplyMs: number[];
  deltaMs: number[];
  rss: Record<string, number[]>;
}

async function measure(workers: number, count: number, edits: number, dir: string): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const manifests = path.join(dir, 'manifests');
  const stateDir = path.join(dir, 'state');
  mkdirSync(manifests, { recursive: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Nothing is sent to the backend: port 9 (discard) only makes the Endpoints valid.
  writeFileSync(path.join(manifests, 'backend.yaml'), backendYaml(9));
  writeFileSync(path.join(manifests, 'proxies.yaml'), manyProxies(count));
  const [httpPort, httpsPort, adminPort] = (await freePorts(3)) as [number, number, number];
  const logFile = path.join(dir, 'serve.log');
  const args = [
    isobar.ISOBAR, 'serve', manifests, '--state-dir', stateDir, '--http-port', String(httpPort), '--https-port', String(httpsPort),
    '--admin-port', String(adminPort), '--workers', String(workers), '--no-access-log',
  ];
  const t0 = performance.now();
  const proc: Managed = startServer(`isobar serve --workers ${workers}`, isobar.NODE, args, logFile, { env: { ...process.env, ISOBAR_LOG_LEVEL: 'debug' } });
  try {
    await waitForPort(httpPort, 600_000, 'isobar serve', () => isRunning(proc));
    const first = await waitApplied(logFile, 0, () => isRunning(proc), 600_000, 'first configuration applied');
    const startupMs = performance.now() - t0;
    const v1 = first.version ?? 1;
    // Each worker's parse and apply of that whole configuration.
    const workerLines = readLog(logFile).filter((l) => l.msg === 'proxy configuration applied' && l.version === v1 && l.applyMs !== undefined);
    const rss = rssByRole(proc.pid);
    log(`fanout: ${workers} workers: version ${v1} (${count} HTTPProxies) on every worker in ${first.applyMs} ms, serving after ${startupMs.toFixed(0)} ms`);
    const deltaMs: number[] = [];
    let version = v1;
    for (let k = 0; k < edits; k++) {
      await new Promise((r) => setTimeout(r, 500));
      writeFileSync(path.join(manifests, `new${k}.yaml`), proxyYaml(`new${k}`, `new${k}.example.test`));
      const hit = await waitApplied(logFile, version + 1, () => isRunning(proc), 60_000);
      version = hit.version ?? version + 1;
      deltaMs.push(hit.applyMs ?? NaN);
      log(`fanout: ${workers} workers: edit ${k}: on every worker in ${hit.applyMs} ms`);
    }
    return {
      workers,
      startupMs,
      wholeMs: first.applyMs ?? NaN,
      wholeParseMs: workerLines.map((l) => l.parseMs ?? NaN),
      wholeApplyMs: workerLines.map((l) => l.applyMs ?? NaN),
      deltaMs,
      rss,
    };
  } finally {
    await stop(proc, 60_000);
  }
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { workers: { type: 'string' }, count: { type: 'string' }, edits: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } },
    }));
  } catch (err) {
    process.stderr.write(`fanout: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const counts = (values.workers ?? '1,2,4,8,16').split(',').map((s) => Number(s.trim()));
  const count = Number(values.count ?? 10_000);
  const edits = Number(values.edits ?? 5);
  if ([...counts, count, edits].some((x) => !Number.isInteger(x) || x < 1)) {
    process.stderr.write(`fanout: --workers, --count and --edits take positive integers\n${USAGE}\n`);
    process.exit(2);
  }
  const why = await isobar.isobarServeAvailable();
  if (why) throw new Error(`cannot measure: ${why}`);
  const runDir = path.join(WORK_DIR, 'fanout');
  const results: Result[] = [];
  for (const n of counts) results.push(await measure(n, count, edits, path.join(runDir, `w${n}`)));

  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
  const mib = (r: Result, role: string) => {
    const xs = r.rss[role] ?? [];
    return xs.length === 0 ? '-' : `${f(median(xs))}`;
  };
  const total = (r: Result) => Object.values(r.rss).flat().reduce((a, b) => a + b, 0);
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# isobar config fan-out, ${date}`,
    '',
    ...[...(await machineDetails(isobar.NODE)), `isobar: ${await isobar.isobarVersion()}`].map((m) => `- ${m}`),
    '',
    `Method: \`isobar serve --workers N\` (N proxy workers and N balancer workers) on a folder with ${count.toLocaleString('en-US')} HTTPProxies;`,
    'times from the primary\'s debug log: "whole" is the first configuration pushed to every worker (send to the last worker\'s',
    `"applied"), "delta" ${edits} edits of one new HTTPProxy each (median and max); parse and apply are each proxy worker's own`,
    'time for the whole configuration (median over the workers); RSS after start-up, median per process of each kind.',
    '',
    '| workers | start-up to all applied (ms) | whole config to every worker (ms) | worker parse, median (ms) | worker apply, median (ms) | delta to every worker, median (ms) | delta, max (ms) | RSS primary (MiB) | RSS per proxy worker (MiB) | RSS per balancer worker (MiB) | RSS all (MiB) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.workers} | ${f(r.startupMs)} | ${f(r.wholeMs)} | ${f(median(r.wholeParseMs))} | ${f(median(r.wholeApplyMs))} | ${f(median(r.deltaMs))} | ${f(Math.max(...r.deltaMs))} | ${mib(r, 'primary')} | ${mib(r, 'proxy-worker')} | ${mib(r, 'balancer-worker')} | ${f(total(r))} |`,
    ),
    '',
  ];
  const report = lines.join('\n');
  process.stdout.write(report + '\n');
  const out = values.out ?? path.join(runDir, `fanout-${date}.md`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, report);
  log(`fanout: report written to ${out}`);
}

await runMain('fanout', main);
