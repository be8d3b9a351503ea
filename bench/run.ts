// `npm run bench`: isobar, HAProxy and nginx on the same chain, in the same
// run, against the same backend; correctness checks first, then every case
// with the systems alternating; a Markdown table to stdout and
// bench/results/<date>.md. See bench/README.md.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setup, WORK_DIR } from './setup.ts';
import { startBackend, type Backend } from './lib/backend.ts';
import { startHaproxy } from './lib/peers/haproxy.ts';
import { startNginx } from './lib/peers/nginx.ts';
import { startIsobar, NODE, isobarVersion, exportCommit, useIsobarCheckout } from './lib/peers/isobar.ts';
import { startFloor, FLOOR } from './lib/peers/floor.ts';
import { EDGE_HOST } from './lib/pki.ts';
import { SkipSystem, type StartContext, type SystemUnderTest } from './lib/system.ts';
import { checkSystem, tlsSummary } from './lib/check.ts';
import { CASES, caseUrl, type BenchCase } from './lib/cases.ts';
import { runWrk, runH2load, type LoadResult, type LoadSettings } from './lib/load.ts';
import { cpuSnapshot, cpuDelta, processTree, runMain } from './lib/procs.ts';
import { renderReport, machineDetails, type Measurement } from './lib/report.ts';
import { renderProfiles, labelProcesses } from './lib/profile.ts';
import { parseFlags, positiveIntReader, usageFailure } from './lib/args.ts';

const USAGE = `usage: node bench/run.ts [options]
  --quick                 smoke run: 2 s per run, 1 run per case, 1 s warm-up (results not written to bench/results)
  --duration SECONDS      seconds per run (default 10)
  --reps N                runs per case and system (default 3)
  --warmup SECONDS        unmeasured warm-up per case and system (default 2)
  --connections N         wrk/h2load connections (default 32)
  --threads N             wrk/h2load threads (default 1)
  --h2-streams N          h2load concurrent streams per connection (default 10)
  --workers N             worker processes/threads per system (default 2)
  --backend-workers N     backend nginx worker processes (default 2)
  --systems LIST          any of isobar,isobar-co-located,isobar-base,floor,haproxy,nginx,direct
                          (default all; isobar-base only with --base-commit)
  --base-commit REF       also measure isobar as committed at REF ("isobar base", default mode) in the same
                          rounds: an A/B of the working tree (or --isobar-commit) against REF
  --scrape-metrics SECONDS  during every run, GET the /metrics of each isobar but the base every SECONDS
  --cases LIST            case ids (default all: ${CASES.map((c) => c.id).join(',')})
  --profile               write V8 CPU profiles of isobar's processes and add where the time went to the report
                          (best with one case: --systems isobar --cases chain-64)
  --isobar-commit REF     measure isobar as committed at REF (git archive into the temp dir), not the working tree
  --out FILE              where to write the Markdown report (default bench/results/<date>.md)
  --help`;

interface Options {
  settings: LoadSettings;
  reps: number;
  warmupS: number;
  workers: number;
  backendWorkers: number;
  systems: string[];
  cases: BenchCase[];
  out?: string;
  quick: boolean;
  profile: boolean;
  isobarCommit?: string;
  baseCommit?: string;
  scrapeS?: number;
}

const fail: (msg: string) => never = usageFailure('bench', USAGE);
const positiveInt = positiveIntReader(fail);

function parseOptions(argv: string[]): Options {
  const values = parseFlags(
    argv,
    {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      'h2-streams': { type: 'string' },
      workers: { type: 'string' },
      'backend-workers': { type: 'string' },
      systems: { type: 'string' },
      cases: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      'isobar-commit': { type: 'string' },
      'base-commit': { type: 'string' },
      'scrape-metrics': { type: 'string' },
    },
    USAGE,
    fail,
  );
  const quick = Boolean(values.quick);
  const allSystems = ['isobar', 'isobar-co-located', 'isobar-base', 'floor', 'haproxy', 'nginx', 'direct'];
  const baseCommit = values['base-commit'];
  const systems = values.systems
    ? values.systems.split(',').map((s) => s.trim().toLowerCase())
    : allSystems.filter((s) => s !== 'isobar-base' || baseCommit !== undefined);
  for (const s of systems) if (!allSystems.includes(s)) fail(`--systems: unknown system "${s}" (choose from ${allSystems.join(', ')})`);
  if (systems.includes('isobar-base') && baseCommit === undefined) fail('--systems isobar-base needs --base-commit REF');
  const scrape = values['scrape-metrics'] === undefined ? undefined : Number(values['scrape-metrics']);
  if (scrape !== undefined && !(scrape > 0)) fail(`--scrape-metrics must be a positive number of seconds, got "${values['scrape-metrics']}"`);
  const ids = values.cases ? values.cases.split(',').map((s) => s.trim()) : CASES.map((c) => c.id);
  for (const id of ids) if (!CASES.some((c) => c.id === id)) fail(`--cases: unknown case "${id}" (choose from ${CASES.map((c) => c.id).join(', ')})`);
  const warmup = values.warmup === undefined ? (quick ? 1 : 2) : Number(values.warmup);
  if (!Number.isInteger(warmup) || warmup < 0) fail(`--warmup must be a whole number of seconds, got "${values.warmup}"`);
  return {
    settings: {
      threads: positiveInt('threads', values.threads, 1),
      connections: positiveInt('connections', values.connections, 32),
      durationS: positiveInt('duration', values.duration, quick ? 2 : 10),
      h2Streams: positiveInt('h2-streams', values['h2-streams'], 10),
    },
    reps: positiveInt('reps', values.reps, quick ? 1 : 3),
    warmupS: warmup,
    workers: positiveInt('workers', values.workers, 2),
    backendWorkers: positiveInt('backend-workers', values['backend-workers'], 2),
    systems,
    cases: CASES.filter((c) => ids.includes(c.id)),
    out: values.out,
    quick,
    profile: Boolean(values.profile),
    isobarCommit: values['isobar-commit'],
    baseCommit,
    scrapeS: scrape,
  };
}

const log = (s: string) => process.stderr.write(s + '\n');
const ISOBAR_BASE = 'isobar base';

/** Whether `sys` serves what case `c` loads (the node floor has no HTTP/2). */
function serves(sys: SystemUnderTest, c: BenchCase): boolean {
  return sys.targets[c.target] !== undefined;
}

async function load(sys: SystemUnderTest, c: BenchCase, s: LoadSettings, tmpDir: string): Promise<LoadResult> {
  const port = sys.targets[c.target];
  if (port === undefined) throw new Error(`${sys.name} does not serve ${c.id}`);
  const { url, headers, connectTo } = caseUrl(c, port);
  if (c.client === 'h2load') return runH2load(url, connectTo!, s, path.join(tmpDir, `h2load-${sys.name}.log`));
  return runWrk(url, s, headers);
}

/** GETs `url` every `seconds` until stopped, as a Prometheus would; returns the scrapes made and failed. */
function scrapeEvery(url: string, seconds: number): () => { ok: number; failed: number } {
  const n = { ok: 0, failed: 0 };
  const t = setInterval(() => {
    fetch(url)
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.ok) n.ok++;
        else n.failed++;
      })
      .catch(() => n.failed++);
  }, seconds * 1000);
  return () => {
    clearInterval(t);
    return n;
  };
}

async function measure(sys: SystemUnderTest, c: BenchCase, s: LoadSettings, tmpDir: string, rep: number, scrapeS: number | undefined): Promise<Measurement> {
  const pids = sys.rootPid ? processTree(sys.rootPid) : [];
  const before = cpuSnapshot(pids);
  // Not the A/B baseline: `--base-commit HEAD` then measures what scraping costs.
  const stopScrape = scrapeS !== undefined && sys.metricsUrl && sys.name !== ISOBAR_BASE ? scrapeEvery(sys.metricsUrl, scrapeS) : undefined;
  let r: LoadResult;
  try {
    r = await load(sys, c, s, tmpDir);
  } finally {
    const n = stopScrape?.();
    if (n && n.failed > 0) log(`bench: ${sys.name}: ${n.failed} of ${n.ok + n.failed} scrapes of ${sys.metricsUrl} failed`);
  }
  // Workers that started during the run count from zero.
  const allPids = sys.rootPid ? [...new Set([...pids, ...processTree(sys.rootPid)])] : [];
  const after = cpuSnapshot(allPids);
  // Per role (isobar: primary, balancer-worker, proxy-worker): where the CPU goes.
  const cpuByRole: Record<string, number> = {};
  if (sys.name.startsWith('isobar')) {
    const labels = labelProcesses(allPids);
    for (const [pid, t] of after) {
      const role = labels.get(pid) ?? 'other';
      cpuByRole[role] = (cpuByRole[role] ?? 0) + t - (before.get(pid) ?? 0);
    }
  }
  return { ...r, system: sys.name, caseId: c.id, rep, cpuS: sys.rootPid ? cpuDelta(before, after) : undefined, cpuByRole };
}

function directSystem(b: Backend): SystemUnderTest {
  // The ceiling: the client talks to the backend itself. TLS cases use the
  // backend's TLS port that does not ask for a client certificate (the load
  // generators have none); the backend's CPU is not the subject, so not counted.
  return {
    name: 'direct',
    targets: { chain: b.ports.open, lbOnly: b.ports.open, proxyPlain: b.ports.plain, h2: b.ports.open },
    stop: async () => {},
  };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const date = new Date().toISOString().slice(0, 10);
  const runDir = path.join(WORK_DIR, 'run');
  mkdirSync(runDir, { recursive: true });

  if (o.isobarCommit && o.systems.some((s) => s === 'isobar' || s === 'isobar-co-located')) {
    // Outside the checkout: tsc and the test runner must not see a second copy of the sources.
    const dir = await exportCommit(o.isobarCommit, os.tmpdir());
    useIsobarCheckout(dir);
    log(`bench: measuring isobar from ${dir}`);
  }
  const baseDir = o.baseCommit && o.systems.includes('isobar-base') ? await exportCommit(o.baseCommit, os.tmpdir()) : undefined;
  if (baseDir) log(`bench: measuring isobar base from ${baseDir}`);
  log('bench: installing tools and certificates (idempotent)');
  const pki = await setup();
  log('bench: starting the backend');
  const backend = await startBackend(runDir, pki, o.backendWorkers);
  const profileDir = o.profile ? path.join(runDir, 'profiles') : undefined;
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const ctx: StartContext = { workDir: runDir, pki, backend: backend.ports, workers: o.workers, log, profileDir };

  const excluded: Record<string, string> = {};
  const systems: SystemUnderTest[] = [];
  const starters: [string, string, (c: StartContext) => Promise<SystemUnderTest>][] = [
    ['isobar', 'isobar', (c) => startIsobar(c)],
    ['isobar-co-located', 'isobar co-located', (c) => startIsobar(c, { coLocated: true })],
    ['isobar-base', ISOBAR_BASE, (c) => startIsobar(c, { repo: baseDir, name: ISOBAR_BASE })],
    ['floor', FLOOR, startFloor],
    ['haproxy', 'HAProxy', startHaproxy],
    ['nginx', 'nginx', startNginx],
  ];
  for (const [id, label, start] of starters) {
    if (!o.systems.includes(id)) continue;
    log(`bench: starting ${label}`);
    try {
      systems.push(await start(ctx));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      excluded[label] = err instanceof SkipSystem ? why : `did not start: ${why}`;
      log(`bench: ${label} not measured: ${why}`);
    }
  }
  if (o.systems.includes('direct')) systems.push(directSystem(backend));

  const measured: SystemUnderTest[] = [];
  for (const sys of systems) {
    const failures = await checkSystem(sys, { pki, tmpDir: runDir, direct: sys.name === 'direct' });
    if (failures.length > 0) {
      excluded[sys.name] = `failed the correctness checks: ${failures.join('; ')}`;
      log(`bench: ${sys.name} FAILED the correctness checks, not measured:\n  ${failures.join('\n  ')}`);
      await sys.stop();
    } else {
      log(`bench: ${sys.name} passed the correctness checks`);
      measured.push(sys);
    }
  }
  if (measured.length === 0) throw new Error('no system passed the correctness checks; nothing to measure');

  // What each load balancer listener negotiates with an OpenSSL 3.0 client (wrk's library): same work for all?
  const tlsNotes: string[] = [];
  for (const sys of measured) tlsNotes.push(`${sys.name}: ${await tlsSummary(sys.targets.chain, EDGE_HOST)}`);

  const labels = new Map<number, string>();
  for (const sys of measured) if (sys.name.startsWith('isobar') && sys.rootPid) for (const [k, v] of labelProcesses(processTree(sys.rootPid))) labels.set(k, v);

  const measurements: Measurement[] = [];
  const warm: LoadSettings = { ...o.settings, durationS: o.warmupS };
  for (const c of o.cases) {
    if (o.warmupS > 0) {
      for (const sys of measured) {
        if (!serves(sys, c)) continue;
        try {
          await load(sys, c, warm, runDir);
        } catch (err) {
          log(`bench: warm-up ${c.id} on ${sys.name} failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
        }
      }
    }
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const sys of measured) {
        if (!serves(sys, c)) continue;
        try {
          const m = await measure(sys, c, o.settings, runDir, rep, o.scrapeS);
          measurements.push(m);
          log(
            `bench: ${c.id.padEnd(16)} ${sys.name.padEnd(8)} run ${rep}: ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms` +
              `${m.cpuS !== undefined ? `  cpu ${m.cpuS.toFixed(2)} s` : ''}${m.errors > 0 ? `  errors ${m.errors} (${m.errorDetail})` : ''}`,
          );
        } catch (err) {
          log(`bench: ${c.id} on ${sys.name} run ${rep} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }

  // Stop the systems now: isobar writes its profiles on the way out.
  for (const sys of measured) await sys.stop();
  const profile = profileDir ? renderProfiles(profileDir, labels) : undefined;

  const notes = [
    'HTTP/2: with an NLB in front, TLS (and so ALPN) ends at the load balancer, which passes bytes on; the fair HTTP/2 equivalent for all three is the proxy\'s own TLS listener offering h2 (Host h2.example.test, its own certificate from the edge CA), re-encrypting to the backend with validation as in the chain.',
    '"direct" is the load generator talking straight to the backend (TLS cases: its TLS port that does not ask for a client certificate): the ceiling of this machine, not a competitor.',
    'The new-connection case sends `Connection: close`: every request is a new TCP connection and a full TLS handshake at the load balancer (wrk does not resume sessions), plus a new connection from the load balancer to the proxy; upstream connections to the backend stay pooled.',
  ];
  if (measured.some((m) => m.name === FLOOR)) {
    notes.push(
      '"node floor" (bench/floor/): the smallest honest Node programs for each case, with isobar\'s process count: a TLS terminator (Node\'s tls server, PROXY v2, pipe) and a raw-socket HTTP/1.1 forwarder (reads to the end of the head, routes by Host, drops Connection, appends X-Forwarded-For, frames by Content-Length, one upstream connection per downstream, re-encrypting with validation and the client certificate for the chain), `--workers` processes of each sharing ports with SO_REUSEPORT. It is what Node allows, a ceiling for isobar, not a product; it has no HTTP/2.',
    );
  }
  if (baseDir) notes.push(`"isobar base" is isobar (default mode) as committed at ${o.baseCommit}, measured in the same rounds as the working tree: an A/B.`);
  if (o.scrapeS !== undefined) notes.push(`The /metrics of every isobar but the base was scraped every ${o.scrapeS} s during every run (as a Prometheus would).`);
  notes.push(`TLS negotiated at the chain's first listener (openssl s_client): ${tlsNotes.join('; ')}.`);
  if (o.quick) notes.unshift('QUICK smoke run: short runs, one per case; not for comparison.');
  const report = renderReport({
    date,
    cases: o.cases,
    systems: measured.map((s) => s.name),
    measurements,
    settings: { ...o.settings, reps: o.reps, warmupS: o.warmupS, workers: o.workers },
    machine: [...(await machineDetails(NODE)), `isobar: ${await isobarVersion()}`, ...(baseDir ? [`isobar base: ${await isobarVersion(baseDir)}`] : [])],
    excluded,
    notes,
    profile,
  });
  process.stdout.write(report + '\n');
  const out = o.out ?? (o.quick ? path.join(runDir, `quick-${date}.md`) : path.join(import.meta.dirname, 'results', `${date}.md`));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, report + '\n');
  log(`bench: report written to ${out}`);
}

await runMain('bench', main);
