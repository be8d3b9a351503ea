// Instructions per request of the proxy alone (plain HTTP, keep-alive, 64 B)
// or of the load balancer alone (TLS terminated, plain TCP to the backend),
// counted by valgrind's callgrind in the worker process that serves it. A count, not
// a time: it repeats from run to run on a shared machine, where CPU time
// per request (cpu-per-request.ts) wanders by ±20 % and cannot resolve a
// change worth 1–3 %. Each system runs with one proxy worker under valgrind
// (children traced, instrumentation off until the worker is warm); then the
// worker's counters are zeroed, `--requests` keep-alive requests are sent
// (h2load --h1) and its instruction total is read back. Counted: every
// thread of the worker (V8's compiler and GC threads too), in user space
// only: the kernel's side of a system call is not an instruction valgrind
// sees, so this measures the work a change in JavaScript can remove. See
// bench/README.md.

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
import { processTree, run, runOk, runMain } from './lib/procs.ts';
import { parseFlags, positiveIntReader, usageFailure } from './lib/args.ts';
import { parseH2loadCounts } from './lib/load.ts';
import { median } from './lib/report.ts';
import { callgrindTotal, nameCompiledCode, parseAnnotateSelf, parsePerfMap } from './lib/callgrind.ts';

const USAGE = `usage: node bench/instructions.ts [options]
  --case ID               proxy-plain (default: the proxy worker) or lb-only (the balancer worker)
  --requests N            measured requests per run (default 10000)
  --reps N                runs per system (default 3), one system after the other
  --warmup N              requests before counting starts, per system (default 40000)
  --connections N         h2load connections (default 32)
  --base-commit REF       also count isobar at REF, in the same run (A/B)
  --isobar-commit REF     count isobar at REF instead of the working tree
  --no-floors             count isobar only (not the node floor and, for proxy-plain, the node:http floor)
  --annotate N            print each system's N costliest functions of its last run (JavaScript
                          ones named from V8's --perf-basic-prof map), in instructions per request
  --help`;

const fail: (msg: string) => never = usageFailure('instructions', USAGE);
const positiveInt = positiveIntReader(fail);

/** The worker each case counts: the one on its path (the others run natively). */
const COUNTED = {
  'proxy-plain': { role: 'proxy', isobarFile: '/proxy-worker.ts', skip: '*balancer-worker.ts,lb' },
  'lb-only': { role: 'lb', isobarFile: '/balancer-worker.ts', skip: '*proxy-worker.ts,proxy' },
} as const;
type CountedCase = keyof typeof COUNTED;
const log = (s: string) => process.stderr.write(s + '\n');

interface Counted {
  sys: SystemUnderTest;
  bench: BenchCase;
  /** the counted worker's pid */
  pid: number;
  outPrefix: string;
}

/** Whether /proc/PID/cmdline is the counted worker: isobar's proxy-worker.ts
 *  (balancer-worker.ts), or the floor's `main.ts CONFIG proxy` (`lb`). */
function isWorker(pid: number, kind: (typeof COUNTED)[CountedCase]): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return false;
  }
  return argv.some((a) => a.endsWith(kind.isobarFile)) || (argv.at(-1) === kind.role && argv.some((a) => a.endsWith('/floor/main.ts')));
}

async function countedWorker(sys: SystemUnderTest, kind: (typeof COUNTED)[CountedCase]): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = processTree(sys.rootPid!).filter((pid) => isWorker(pid, kind));
    if (found.length === 1) return found[0]!;
    if (found.length > 1) throw new Error(`${sys.name}: ${found.length} ${kind.role} workers, expected one`);
    if (Date.now() > deadline) throw new Error(`${sys.name}: no ${kind.role} worker process under pid ${sys.rootPid}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function control(pid: number, ...args: string[]): Promise<void> {
  await runOk('callgrind_control', [...args, String(pid)], { timeoutMs: 120_000 });
}

/** The newest dump, `prefix.<pid>.<n>`. */
function newestDump(c: Counted): string {
  const dir = path.dirname(c.outPrefix);
  const base = `${path.basename(c.outPrefix)}.${c.pid}.`;
  const dumps = readdirSync(dir)
    .filter((f) => f.startsWith(base))
    .map((f) => ({ f, n: Number(f.slice(base.length)) }))
    .filter((d) => Number.isInteger(d.n))
    .sort((a, b) => b.n - a.n);
  if (dumps.length === 0) throw new Error(`no callgrind dump ${base}* in ${dir}`);
  return path.join(dir, dumps[0]!.f);
}

async function load(sys: SystemUnderTest, bench: BenchCase, n: number, connections: number): Promise<number> {
  const port = sys.targets[bench.target]!;
  // h2load takes the TLS server name from the URL's host.
  const url = `${bench.tls ? 'https' : 'http'}://${bench.host}:${port}${bench.path}`;
  const r = await run('h2load', ['--h1', '-t', '1', '-c', String(connections), '-m', '1', '-n', String(n), '--connect-to', `${LOOPBACK}:${port}`, url], {
    timeoutMs: 900_000,
  });
  if (r.code !== 0) throw new Error(`h2load failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  const h = parseH2loadCounts(r.stdout);
  if (h.failed + h.non2xx > 0 || h.succeeded !== n) throw new Error(`${sys.name}: ${h.succeeded} of ${n} requests succeeded (${h.failed} failed, ${h.non2xx} not 2xx)`);
  return h.done;
}

/** Instructions per request over one run of n requests. */
async function countOnce(c: Counted, n: number, connections: number): Promise<number> {
  await control(c.pid, '--zero');
  const done = await load(c.sys, c.bench, n, connections);
  await control(c.pid, `--dump=run`);
  const file = newestDump(c);
  const total = callgrindTotal(readFileSync(file, 'utf8'));
  if (total === undefined) throw new Error(`no totals line in ${file}`);
  return total / done;
}

/** The costliest functions of c's newest dump (a run of `requests`) by self instructions per request. */
async function annotateLast(c: Counted, requests: number, top: number): Promise<string[]> {
  const text = await runOk('callgrind_annotate', ['--threshold=100', newestDump(c)], { timeoutMs: 120_000 });
  let map = '';
  try {
    map = readFileSync(`/tmp/perf-${c.pid}.map`, 'utf8');
  } catch {
    /* no map: JavaScript stays as addresses */
  }
  const fns = nameCompiledCode(parseAnnotateSelf(text), parsePerfMap(map));
  const total = fns.reduce((s, f) => s + f.ir, 0);
  const out = [`### ${c.sys.name}: costliest functions (self), instructions per request`, '', '| instructions | share | function |', '|---:|---:|---|'];
  for (const f of fns.slice(0, top)) out.push(`| ${(f.ir / requests).toFixed(0)} | ${((100 * f.ir) / total).toFixed(1)} % | ${f.name.replaceAll('|', '\\|')} |`);
  return out;
}

async function main(): Promise<void> {
  const v = parseFlags(
    process.argv.slice(2),
    {
      case: { type: 'string' },
      requests: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'base-commit': { type: 'string' },
      'isobar-commit': { type: 'string' },
      'no-floors': { type: 'boolean' },
      annotate: { type: 'string' },
    },
    USAGE,
    fail,
  );
  const caseId = v.case ?? 'proxy-plain';
  if (!Object.hasOwn(COUNTED, caseId)) fail(`--case: ${caseId} is not one of ${Object.keys(COUNTED).join(', ')}`);
  const kind = COUNTED[caseId as CountedCase];
  const bench = CASES.find((c) => c.id === caseId)!;
  const requests = positiveInt('requests', v.requests, 10_000);
  const reps = positiveInt('reps', v.reps, 3);
  const warmup = positiveInt('warmup', v.warmup, 40_000);
  const connections = positiveInt('connections', v.connections, 32);
  const annotate = v.annotate === undefined ? 0 : positiveInt('annotate', v.annotate, 0);

  const dir = path.join(WORK_DIR, 'instructions');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (v['isobar-commit']) useIsobarCheckout(await exportCommit(v['isobar-commit'], os.tmpdir()));
  const baseDir = v['base-commit'] ? await exportCommit(v['base-commit'], os.tmpdir()) : undefined;
  const pki = await setup();
  const backend = await startBackend(dir, pki, 1);

  const perRequest = new Map<string, number[]>();
  const profiles: string[] = [];
  // One system at a time, measured right after its warm-up: a Node process
  // left idle while the others run has its code aged out and deoptimised by
  // V8's memory reducer, and would count its re-optimisation (twice the
  // instructions per request, measured).
  const measure = async (name: string, begin: (ctx: StartContext) => Promise<SystemUnderTest>): Promise<void> => {
    const outPrefix = path.join(dir, `callgrind-${name.replace(/[^a-z0-9]+/gi, '-')}`);
    const wrap = {
      // V8 names its compiled code in /tmp/perf-PID.map, which is how --annotate names JavaScript;
      // the code-event log that flag opens goes to the work folder, not the current one.
      nodeFlags: annotate > 0 ? ['--perf-basic-prof', `--logfile=${path.join(dir, 'v8.log')}`, '--no-logfile-per-isolate'] : [],
      command: [
        'valgrind', '--tool=callgrind', '--trace-children=yes', '--instr-atstart=no', '--quiet',
        // The workers of the other kind (isobar's and the floor's) are not counted: they run natively.
        `--trace-children-skip-by-arg=${kind.skip}`,
        `--callgrind-out-file=${outPrefix}.%p`,
      ],
      startTimeoutMs: 300_000,
    };
    log(`starting ${name} under valgrind`);
    const sys = await begin({ workDir: dir, pki, backend: backend.ports, workers: 1, log, wrap });
    try {
      const failures = await checkSystem(sys, { pki, tmpDir: dir, direct: false });
      if (failures.length > 0) throw new Error(`${sys.name} failed the correctness checks: ${failures.join('; ')}`);
      const pid = await countedWorker(sys, kind);
      log(`${name}: ${kind.role} worker pid ${pid}, warming up with ${warmup} requests (instrumentation off)`);
      await load(sys, bench, warmup, connections);
      await control(pid, '--instr=on');
      const c: Counted = { sys, bench, pid, outPrefix };
      // One unrecorded run with instrumentation on: valgrind translates the hot code once.
      await countOnce(c, Math.min(requests, 1000), connections);
      const xs: number[] = [];
      for (let rep = 1; rep <= reps; rep++) {
        const x = await countOnce(c, requests, connections);
        xs.push(x);
        log(`run ${rep}/${reps} ${name}: ${(x / 1000).toFixed(1)} k instructions per request`);
      }
      perRequest.set(name, xs);
      if (annotate > 0) profiles.push('', ...(await annotateLast(c, requests, annotate)));
    } finally {
      await sys.stop();
    }
  };
  await measure('isobar', (ctx) => startIsobar(ctx, { name: 'isobar' }));
  if (baseDir) await measure('isobar base', (ctx) => startIsobar(ctx, { repo: baseDir, name: 'isobar base' }));
  if (!v['no-floors']) {
    await measure(FLOOR, (ctx) => startFloor(ctx));
    // Its balancer is the node floor's: only the proxy case differs.
    if (caseId === 'proxy-plain') await measure(FLOOR_HTTP, (ctx) => startFloor(ctx, 'node:http'));
  }

  const med = (name: string) => median(perRequest.get(name)!);
  const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / median(xs);
  const lines = [
    `# Instructions per request, ${bench.title}`,
    '',
    `${await isobarVersion()}; ${os.cpus()[0]?.model ?? 'unknown CPU'}; ${new Date().toISOString().slice(0, 10)}`,
    ...(baseDir ? [`isobar base: ${await isobarVersion(baseDir)}`] : []),
    `callgrind in the ${kind.role} worker (user space, all threads), one worker per system, ${requests} requests × ${reps} runs after ${warmup} warm-up, h2load -c ${connections}`,
    '',
    '| system | k instructions / request (median) | runs | spread |',
    '|---|---:|---|---:|',
  ];
  for (const [name, xs] of perRequest) {
    lines.push(`| ${name} | ${(med(name) / 1000).toFixed(1)} | ${xs.map((x) => (x / 1000).toFixed(1)).join(', ')} | ${(100 * spread(xs)).toFixed(1)} % |`);
  }
  const ratio = (a: string, b: string) => (perRequest.has(a) && perRequest.has(b) ? `${a} / ${b}: ${(med(a) / med(b)).toFixed(3)}` : undefined);
  const ratios = [ratio('isobar', 'isobar base'), ratio('isobar', FLOOR), ratio('isobar', FLOOR_HTTP), ratio(FLOOR_HTTP, FLOOR)].filter(Boolean);
  if (ratios.length > 0) lines.push('', ...ratios.map((r) => `- ${r}`));
  lines.push(...profiles);
  process.stdout.write(lines.join('\n') + '\n');
}

await runMain('instructions', main);
