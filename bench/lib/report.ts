// Turning measured runs into the Markdown report: medians per case and
// system, ratios isobar / HAProxy and isobar / nginx, the targets, and the
// machine the numbers come from.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { run } from './procs.ts';
import type { BenchCase } from './cases.ts';
import type { LoadResult, LoadSettings } from './load.ts';
import { BODIES } from './backend.ts';

export interface Measurement extends LoadResult {
  system: string;
  caseId: string;
  rep: number;
  /** CPU seconds (user + system) of the system's processes during the run; undefined for "direct" */
  cpuS?: number;
  /** CPU seconds per process role (isobar only) */
  cpuByRole?: Record<string, number>;
}

export interface Summary {
  system: string;
  caseId: string;
  runs: number;
  /** median headline value: req/s or MiB/s of body */
  value: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuS?: number;
  /** CPU milliseconds per 1,000 requests */
  cpuMsPer1k?: number;
  errors: number;
  errorDetail: string;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function headline(c: BenchCase, rps: number): number {
  return c.metric === 'MBps' ? (rps * BODIES[c.path]) / 1024 ** 2 : rps;
}

export function summarise(c: BenchCase, system: string, ms: Measurement[]): Summary | undefined {
  const mine = ms.filter((m) => m.caseId === c.id && m.system === system);
  if (mine.length === 0) return undefined;
  const rps = median(mine.map((m) => m.rps));
  const cpus = mine.map((m) => m.cpuS).filter((x): x is number => x !== undefined);
  const cpuS = cpus.length > 0 ? median(cpus) : undefined;
  const perK = mine.filter((m) => m.cpuS !== undefined && m.requests > 0).map((m) => (m.cpuS! * 1e6) / m.requests);
  return {
    system,
    caseId: c.id,
    runs: mine.length,
    value: headline(c, rps),
    rps,
    p50Ms: median(mine.map((m) => m.p50Ms)),
    p99Ms: median(mine.map((m) => m.p99Ms)),
    cpuS,
    cpuMsPer1k: perK.length > 0 ? median(perK) : undefined,
    errors: mine.reduce((a, m) => a + m.errors, 0),
    errorDetail: [...new Set(mine.map((m) => m.errorDetail).filter(Boolean))].join(' | '),
  };
}

function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || Number.isNaN(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || Number.isNaN(a)) return '-';
  return `${(a / b).toFixed(2)}x`;
}

export interface ReportInput {
  date: string;
  cases: BenchCase[];
  systems: string[];
  measurements: Measurement[];
  settings: LoadSettings & { reps: number; warmupS: number; workers: number };
  machine: string[];
  /** system -> why it was not measured */
  excluded: Record<string, string>;
  notes: string[];
  /** Markdown from bench/lib/profile.ts, when --profile was given */
  profile?: string;
}

const ISOBAR = 'isobar';
const CO_LOCATED = 'isobar co-located';
/** The isobar variants measured against the peers: the default and `serve --co-located`. */
const ISOBARS = [ISOBAR, CO_LOCATED];
/** isobar at --base-commit, compared with isobar only (an A/B). */
const ISOBAR_BASE = 'isobar base';
const FLOOR = 'node floor';
const HAPROXY = 'HAProxy';
const NGINX = 'nginx';

/** [column head, numerator, denominator] of every ratio the measured systems allow. */
function ratioPairs(measured: string[]): [string, string, string][] {
  const pairs: [string, string, string][] = [];
  for (const v of ISOBARS.filter((x) => measured.includes(x))) {
    for (const peer of [FLOOR, HAPROXY, NGINX]) if (measured.includes(peer)) pairs.push([`${v} / ${peer}`, v, peer]);
  }
  if (measured.includes(ISOBAR_BASE) && measured.includes(ISOBAR)) pairs.push([`${ISOBAR} / ${ISOBAR_BASE}`, ISOBAR, ISOBAR_BASE]);
  if (measured.includes(FLOOR)) for (const peer of [HAPROXY, NGINX]) if (measured.includes(peer)) pairs.push([`${FLOOR} / ${peer}`, FLOOR, peer]);
  return pairs;
}

export function renderReport(r: ReportInput): string {
  const S = (c: BenchCase, sys: string) => summarise(c, sys, r.measurements);
  const lines: string[] = [];
  lines.push(`# isobar benchmark, ${r.date}`, '');
  lines.push('## Machine', '', ...r.machine.map((m) => `- ${m}`), '');
  const st = r.settings;
  lines.push(
    '## Method',
    '',
    `- HTTP/1.1: \`wrk -t${st.threads} -c${st.connections} -d${st.durationS}s --latency\`; HTTP/2: \`h2load -t${st.threads} -c${st.connections} -m${st.h2Streams} -D ${st.durationS}\` (p50/p99 from its per-request log).`,
    `- Each case ${st.reps} time(s) per system, systems alternating within each round; ${st.warmupS}s warm-up per case and system first (not counted). Medians reported.`,
    `- Each system uses ${st.workers} workers/threads (isobar \`--workers ${st.workers}\`, HAProxy \`nbthread ${st.workers}\`, nginx \`worker_processes ${st.workers}\`); the backend (nginx, its own instance) and the load generator share the same 2 cores.`,
    `- Scheduling priority of the benchmark and everything it started: nice ${os.getPriority()}.`,
    '- CPU s: user + system CPU seconds of the system\'s processes during one run (median); CPU ms/1k req: the same per 1,000 requests.',
    '- Every system first passed the correctness checks (curl gets the exact bodies through each listener with certificates verified; a backend whose certificate comes from another CA is refused).',
    '',
  );
  const excluded = Object.entries(r.excluded);
  if (excluded.length > 0) {
    lines.push('## Not measured', '', ...excluded.map(([s, why]) => `- **${s}**: ${why.replace(/\n/g, ' ')}`), '');
  }

  const measured = r.systems;
  const isobars = ISOBARS.filter((v) => measured.includes(v));
  const pairs = ratioPairs(measured);
  const ratioHeads = pairs.map(([head]) => head);
  lines.push('## Throughput (median)', '');
  lines.push(`| case | unit | ${[...measured, ...ratioHeads].join(' | ')} |`);
  lines.push(`|---|---|${[...measured, ...ratioHeads].map(() => '---:').join('|')}|`);
  for (const c of r.cases) {
    const vals = measured.map((s) => fmt(S(c, s)?.value, c.metric === 'MBps' ? 1 : 0));
    const ratios = pairs.map(([, a, b]) => ratio(S(c, a)?.value, S(c, b)?.value));
    lines.push(`| ${c.title} | ${c.metric === 'MBps' ? 'MiB/s' : 'req/s'} | ${[...vals, ...ratios].join(' | ')} |`);
  }
  lines.push('');
  if (st.reps > 1) {
    lines.push('Spread of the runs behind each median, (max - min) / median of the headline number: how much to trust a ratio.', '');
    lines.push(`| case | ${measured.join(' | ')} |`);
    lines.push(`|---|${measured.map(() => '---:').join('|')}|`);
    for (const c of r.cases) {
      const cells = measured.map((sys) => {
        const xs = r.measurements.filter((m) => m.caseId === c.id && m.system === sys).map((m) => m.rps);
        const mid = median(xs);
        return xs.length > 1 && mid > 0 ? `${((100 * (Math.max(...xs) - Math.min(...xs))) / mid).toFixed(0)}%` : '-';
      });
      lines.push(`| ${c.title} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push('## Latency p50 / p99 in ms (median of runs)', '');
  const p99Heads = pairs.map(([head]) => `p99 ${head}`);
  lines.push(`| case | ${[...measured, ...p99Heads].join(' | ')} |`);
  lines.push(`|---|${[...measured, ...p99Heads].map(() => '---:').join('|')}|`);
  for (const c of r.cases) {
    const cells = measured.map((s) => {
      const x = S(c, s);
      return x ? `${fmt(x.p50Ms, 2)} / ${fmt(x.p99Ms, 2)}` : '-';
    });
    const ratios = pairs.map(([, a, b]) => ratio(S(c, a)?.p99Ms, S(c, b)?.p99Ms));
    lines.push(`| ${c.title} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  lines.push('');
  const sut = measured.filter((s) => s !== 'direct');
  lines.push('## CPU of the system under test: seconds per run / ms per 1,000 requests (median)', '');
  const cpuHeads = pairs.map(([head]) => `ms/1k ${head}`);
  lines.push(`| case | ${[...sut, ...cpuHeads].join(' | ')} |`);
  lines.push(`|---|${[...sut, ...cpuHeads].map(() => '---:').join('|')}|`);
  for (const c of r.cases) {
    const cells = sut.map((s) => {
      const x = S(c, s);
      return x && x.cpuS !== undefined ? `${fmt(x.cpuS, 1)} / ${fmt(x.cpuMsPer1k, 1)}` : '-';
    });
    const ratios = pairs.map(([, a, b]) => ratio(S(c, a)?.cpuMsPer1k, S(c, b)?.cpuMsPer1k));
    lines.push(`| ${c.title} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  lines.push('');

  // isobar's CPU split by process role, per 1,000 requests.
  for (const v of isobars) {
    const roles = [...new Set(r.measurements.filter((m) => m.system === v).flatMap((m) => Object.keys(m.cpuByRole ?? {})))].sort();
    if (roles.length === 0) continue;
    lines.push(`## ${v} CPU by process: ms per 1,000 requests (median)`, '');
    lines.push(`| case | ${roles.join(' | ')} |`);
    lines.push(`|---|${roles.map(() => '---:').join('|')}|`);
    for (const c of r.cases) {
      const mine = r.measurements.filter((m) => m.system === v && m.caseId === c.id && m.requests > 0);
      if (mine.length === 0) continue;
      const cells = roles.map((role) => fmt(median(mine.map((m) => ((m.cpuByRole?.[role] ?? 0) * 1e6) / m.requests)), 1));
      lines.push(`| ${c.title} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }

  const errs: string[] = [];
  for (const c of r.cases) {
    for (const s of measured) {
      const x = S(c, s);
      if (x && x.errors > 0) errs.push(`- ${c.title}, ${s}: ${x.errors} errors over ${x.runs} runs (${x.errorDetail})`);
    }
  }
  if (errs.length > 0) lines.push('## Errors during load', '', ...errs, '');

  lines.push('## Targets', '');
  for (const v of isobars) {
    if (isobars.length > 1) lines.push(`${v}:`, '');
    lines.push(...targets(r.cases, S, v, v === CO_LOCATED), '');
  }
  if (r.notes.length > 0) lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');

  if (r.profile) lines.push('## isobar CPU profile (self time, whole run incl. start-up and warm-up)', '', r.profile, '');
  lines.push('## All runs', '');
  lines.push('| case | system | run | req/s | p50 ms | p99 ms | CPU s | errors |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const m of r.measurements) {
    lines.push(`| ${m.caseId} | ${m.system} | ${m.rep} | ${fmt(m.rps)} | ${fmt(m.p50Ms, 2)} | ${fmt(m.p99Ms, 2)} | ${fmt(m.cpuS, 2)} | ${m.errors} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The targets of the benchmark issues; some are stricter for --co-located. */
function targets(cases: BenchCase[], S: (c: BenchCase, s: string) => Summary | undefined, isobar: string, coLocated: boolean): string[] {
  const byId = (id: string) => cases.find((c) => c.id === id);
  const out: string[] = [];
  const check = (label: string, id: string, other: string, field: 'value' | 'p99Ms' | 'cpuMsPer1k', cmp: 'ge' | 'le', bound: number) => {
    const c = byId(id);
    if (!c) return;
    const a = S(c, isobar)?.[field];
    const b = S(c, other)?.[field];
    if (a === undefined || b === undefined || !(b > 0)) {
      out.push(`- ${label}: not measured`);
      return;
    }
    const x = a / b;
    const met = cmp === 'ge' ? x >= bound : x <= bound;
    out.push(`- ${label}: ${x.toFixed(2)}x (target ${cmp === 'ge' ? '>=' : '<='} ${bound}x): **${met ? 'met' : 'not met'}**`);
  };
  check('Proxy alone, plain HTTP, req/s vs node floor', 'proxy-plain', FLOOR, 'value', 'ge', 0.9);
  check('Proxy alone, plain HTTP, req/s vs HAProxy', 'proxy-plain', HAPROXY, 'value', 'ge', 0.65);
  check('Full chain keep-alive 64 B, req/s vs nginx', 'chain-64', NGINX, 'value', 'ge', coLocated ? 1.0 : 0.8);
  check('Full chain keep-alive 1 KiB, req/s vs nginx', 'chain-1k', NGINX, 'value', 'ge', coLocated ? 1.0 : 0.8);
  check('Full chain keep-alive 64 B, p99 vs HAProxy', 'chain-64', HAPROXY, 'p99Ms', 'le', 1.5);
  check('Full chain keep-alive 1 KiB, p99 vs HAProxy', 'chain-1k', HAPROXY, 'p99Ms', 'le', 1.5);
  check('Full chain keep-alive 64 B, CPU per 1,000 requests vs nginx', 'chain-64', NGINX, 'cpuMsPer1k', 'le', 1.5);
  check('Full chain keep-alive 1 KiB, CPU per 1,000 requests vs nginx', 'chain-1k', NGINX, 'cpuMsPer1k', 'le', 1.5);
  check('New TLS connections/s vs HAProxy', 'chain-handshake', HAPROXY, 'value', 'ge', coLocated ? 0.8 : 0.6);
  check('1 MiB bulk MiB/s vs nginx', 'chain-1m', NGINX, 'value', 'ge', 0.8);
  return out;
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 10_000 });
  return (r.stdout.trim() || r.stderr.trim()).split('\n')[0] ?? '?';
}

export async function machineDetails(nodeBin: string): Promise<string[]> {
  let model = os.cpus()[0]?.model ?? '?';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1]!;
  } catch {
    /* keep os.cpus() */
  }
  const nodeInfo = await firstLine(nodeBin, ['-p', 'process.version + " (OpenSSL " + process.versions.openssl + ")"']);
  return [
    `CPU: ${model}, ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM`,
    `Kernel: ${os.type()} ${os.release()}`,
    `Node (isobar): ${nodeInfo}`,
    `HAProxy: ${await firstLine('/usr/sbin/haproxy', ['-v'])}`,
    `nginx: ${await firstLine('/usr/sbin/nginx', ['-v'])}`,
    `OpenSSL (system, used by HAProxy, nginx, wrk, h2load, curl): ${await firstLine('openssl', ['version'])}`,
    `wrk: ${await firstLine('wrk', ['--version'])}; h2load: ${await firstLine('h2load', ['--version'])}`,
  ];
}
