// CPU time per request of isobar's processes, the number that survives a
// shared machine better than throughput: a fixed number of keep-alive
// HTTP/1.1 requests (h2load --h1 -n), the user + system time of every isobar process
// over them (from /proc, summed over threads in nanoseconds), per 1,000
// requests, the median of several runs. With --base-commit it measures a
// second isobar (a commit, exported) in the same rounds, alternating, and
// prints the ratio: an A/B of one change. See bench/README.md.

import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setup, WORK_DIR } from './setup.ts';
import { startBackend } from './lib/backend.ts';
import { startIsobar, exportCommit, useIsobarCheckout, isobarVersion } from './lib/peers/isobar.ts';
import { startFloor, FLOOR, FLOOR_HTTP } from './lib/peers/floor.ts';
import type { StartContext, SystemUnderTest } from './lib/system.ts';
import { checkSystem } from './lib/check.ts';
import { CASES, type BenchCase } from './lib/cases.ts';
import { LOOPBACK } from './lib/ports.ts';
import { cpuNs, processTree, run, runMain } from './lib/procs.ts';
import { labelProcesses, renderProfiles } from './lib/profile.ts';
import { parseFlags, positiveIntReader, usageFailure } from './lib/args.ts';
import { parseH2loadCounts } from './lib/load.ts';
import { median } from './lib/report.ts';

const USAGE = `usage: node bench/cpu-per-request.ts [options]
  --case ID               one of chain-64, chain-1k, proxy-plain, lb-only (default proxy-plain)
  --requests N            requests per run (default 20000)
  --reps N                runs per system (default 5), alternating between systems
  --warmup N              unmeasured requests per system first (default 5000)
  --connections N         h2load connections (default 32)
  --workers N             isobar --workers (default 2)
  --co-located            run isobar with --co-located
  --base-commit REF       also measure isobar at REF in the same rounds (A/B)
  --isobar-commit REF     measure isobar at REF instead of the working tree
  --floor                 also measure the node floor in the same rounds
  --floor-http            also measure the node floor with node:http as the proxy-alone server (proxy-plain)
  --profile               write V8 CPU profiles of the isobar under test and print where the time went
  --help`;

interface Options {
  benchCase: BenchCase;
  requests: number;
  reps: number;
  warmup: number;
  connections: number;
  workers: number;
  coLocated: boolean;
  baseCommit?: string;
  isobarCommit?: string;
  floor: boolean;
  floorHttp: boolean;
  profile: boolean;
}

const fail: (msg: string) => never = usageFailure('cpu-per-request', USAGE);
const positiveInt = positiveIntReader(fail);

function parseOptions(argv: string[]): Options {
  const values = parseFlags(
    argv,
    {
      case: { type: 'string' },
      requests: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      workers: { type: 'string' },
      'co-located': { type: 'boolean' },
      'base-commit': { type: 'string' },
      'isobar-commit': { type: 'string' },
      floor: { type: 'boolean' },
      'floor-http': { type: 'boolean' },
      profile: { type: 'boolean' },
    },
    USAGE,
    fail,
  );
  const id = values.case ?? 'proxy-plain';
  const benchCase = CASES.find((c) => c.id === id);
  const keepAlive = CASES.filter((c) => c.client === 'wrk' && !c.connectionClose && c.metric === 'rps');
  if (!benchCase || !keepAlive.includes(benchCase)) fail(`--case: "${id}" is not a keep-alive HTTP/1.1 case (choose from ${keepAlive.map((c) => c.id).join(', ')})`);
  // The node:http variant serves only the plain port; the other cases would measure the raw floor again.
  if (values['floor-http'] && id !== 'proxy-plain') fail(`--floor-http: only with --case proxy-plain (not "${id}")`);
  return {
    benchCase,
    requests: positiveInt('requests', values.requests, 20_000),
    reps: positiveInt('reps', values.reps, 5),
    warmup: values.warmup === '0' ? 0 : positiveInt('warmup', values.warmup, 5_000),
    connections: positiveInt('connections', values.connections, 32),
    workers: positiveInt('workers', values.workers, 2),
    coLocated: Boolean(values['co-located']),
    baseCommit: values['base-commit'],
    isobarCommit: values['isobar-commit'],
    floor: Boolean(values.floor),
    floorHttp: Boolean(values['floor-http']),
    profile: Boolean(values.profile),
  };
}

const log = (s: string) => process.stderr.write(s + '\n');

function snapshot(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const ns = cpuNs(pid);
    if (ns !== undefined) out.set(pid, ns);
  }
  return out;
}

interface Run {
  requests: number;
  errors: number;
  /** CPU ms per 1,000 requests, all processes of the system, and by role. */
  msPer1k: number;
  byRole: Record<string, number>;
}

/** Exactly `n` keep-alive HTTP/1.1 requests: h2load --h1 (wrk has no request count). */
async function loadOnce(sys: SystemUnderTest, c: BenchCase, n: number, connections: number): Promise<Run> {
  const port = sys.targets[c.target]!;
  // The URL's host is the Host header (and the TLS SNI); --connect-to sends it to loopback.
  const url = `${c.tls ? 'https' : 'http'}://${c.host}:${port}${c.path}`;
  const pids = sys.rootPid ? processTree(sys.rootPid) : [];
  const labels = labelProcesses(pids);
  const before = snapshot(pids);
  const args = ['--h1', '-t', '1', '-c', String(connections), '-m', '1', '-n', String(n), '--connect-to', `${LOOPBACK}:${port}`, url];
  const r = await run('h2load', args, { timeoutMs: 600_000 });
  const after = snapshot(pids);
  if (r.code !== 0) throw new Error(`h2load failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  const h = parseH2loadCounts(r.stdout);
  if (h.succeeded === 0) throw new Error(`h2load completed no request:\n${r.stdout}`);
  const byRole: Record<string, number> = {};
  let total = 0;
  for (const [pid, ns] of after) {
    const d = ns - (before.get(pid) ?? ns);
    total += d;
    const role = labels.get(pid) ?? 'other';
    byRole[role] = (byRole[role] ?? 0) + d;
  }
  const per1k = (ns: number) => ns / 1e6 / (h.done / 1000);
  for (const k of Object.keys(byRole)) byRole[k] = per1k(byRole[k]!);
  return { requests: h.done, errors: h.failed + h.non2xx, msPer1k: per1k(total), byRole };
}

function fmt(x: number): string {
  return x.toFixed(1);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const dir = path.join(WORK_DIR, 'cpu');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (o.isobarCommit) {
    const d = await exportCommit(o.isobarCommit, os.tmpdir());
    useIsobarCheckout(d);
  }
  const baseDir = o.baseCommit ? await exportCommit(o.baseCommit, os.tmpdir()) : undefined;
  const pki = await setup();
  const backend = await startBackend(dir, pki, 2);
  const profileDir = o.profile ? path.join(dir, 'profiles') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx: StartContext = { workDir: dir, pki, backend: backend.ports, workers: o.workers, log };
  const systems: SystemUnderTest[] = [];
  const variant = { coLocated: o.coLocated, name: o.coLocated ? 'isobar co-located' : 'isobar' };
  systems.push(await startIsobar({ ...ctx, profileDir }, variant));
  if (baseDir) systems.push(await startIsobar(ctx, { coLocated: o.coLocated, repo: baseDir, name: 'isobar base' }));
  if (o.floor) systems.push(await startFloor(ctx));
  if (o.floorHttp) systems.push(await startFloor(ctx, 'node:http'));
  for (const sys of systems) {
    const failures = await checkSystem(sys, { pki, tmpDir: dir, direct: false });
    if (failures.length > 0) throw new Error(`${sys.name} failed the correctness checks: ${failures.join('; ')}`);
  }
  const c = o.benchCase;
  if (o.warmup > 0) for (const sys of systems) await loadOnce(sys, c, o.warmup, o.connections);
  const runs = new Map<string, Run[]>(systems.map((s) => [s.name, []]));
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const sys of systems) {
      const r = await loadOnce(sys, c, o.requests, o.connections);
      runs.get(sys.name)!.push(r);
      const roles = Object.entries(r.byRole)
        .filter(([, v]) => v >= 0.05)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ');
      log(`run ${rep} ${sys.name.padEnd(18)} ${fmt(r.msPer1k).padStart(7)} ms CPU / 1,000 req  (${roles})${r.errors ? `  errors ${r.errors}` : ''}`);
    }
  }
  const labels = systems[0]!.rootPid ? labelProcesses(processTree(systems[0]!.rootPid)) : new Map<number, string>();
  // isobar writes its profiles on the way out.
  for (const sys of systems) await sys.stop();
  const lines: string[] = [];
  lines.push(`case ${c.id}, ${o.requests} requests x ${o.reps} runs, h2load --h1 -t1 -c${o.connections}, --workers ${o.workers}${o.coLocated ? ' --co-located' : ''}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  lines.push(`isobar: ${await isobarVersion()}${baseDir ? `; base: ${await isobarVersion(baseDir)}` : ''}`);
  lines.push('| system | CPU ms / 1,000 req, median | min–max | by process (medians) |', '|---|---:|---:|---|');
  for (const [name, rs] of runs) {
    const all = rs.map((r) => r.msPer1k);
    const roles = [...new Set(rs.flatMap((r) => Object.keys(r.byRole)))]
      .map((k) => [k, median(rs.map((r) => r.byRole[k] ?? 0))] as const)
      .filter(([, v]) => v >= 0.05)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ');
    lines.push(`| ${name} | ${fmt(median(all))} | ${fmt(Math.min(...all))}–${fmt(Math.max(...all))} | ${roles} |`);
  }
  const base = runs.get('isobar base');
  const mine = runs.get(variant.name)!;
  if (base) {
    // Per round: the two ran back to back, so each ratio shares that round's machine.
    const ratios = mine.map((r, i) => r.msPer1k / base[i]!.msPer1k);
    lines.push('', `isobar / isobar base, per round: ${ratios.map((x) => x.toFixed(3)).join(', ')}; median ${median(ratios).toFixed(3)}`);
  }
  for (const name of [FLOOR, FLOOR_HTTP]) {
    const floor = runs.get(name);
    if (floor === undefined) continue;
    const ratios = mine.map((r, i) => r.msPer1k / floor[i]!.msPer1k);
    lines.push('', `isobar / ${name}, per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}`);
  }
  const raw = runs.get(FLOOR);
  const withHttp = runs.get(FLOOR_HTTP);
  if (raw !== undefined && withHttp !== undefined) {
    const ratios = withHttp.map((r, i) => r.msPer1k / raw[i]!.msPer1k);
    lines.push('', `${FLOOR_HTTP} / ${FLOOR} (what node:http costs), per round: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}`);
  }
  if (profileDir) lines.push('', renderProfiles(profileDir, labels));
  process.stdout.write(lines.join('\n') + '\n');
}

await runMain('cpu-per-request', main);
