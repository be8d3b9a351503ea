// Where isobar's CPU time goes: reads the V8 .cpuprofile files that
// `--cpu-prof` writes (one per process: primary, balancer and proxy workers)
// and sums self time per function and per area of the code.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** busy (not idle) milliseconds */
  busyMs: number;
  top: { name: string; ms: number }[];
  areas: { area: string; ms: number }[];
  /** for native hot spots (writev, ...): the nearest JavaScript callers with a source location */
  nativeCallers: { name: string; callers: { name: string; ms: number }[] }[];
}

function frameName(f: CallFrame): string {
  const where = f.url ? ` ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${where}`;
}

/** The part of the program a frame belongs to, for the per-area totals. */
export function areaOf(f: CallFrame): string {
  if (f.functionName === '(idle)') return '(idle)';
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(program)' || f.url === '') return f.functionName.startsWith('(') ? 'native / V8 (program)' : 'native';
  const src = /\/src\/([^/]+)\//.exec(f.url);
  if (src) return `isobar src/${src[1]}`;
  const mod = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.url);
  if (mod) return `npm ${mod[1]}`;
  if (f.url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(f.url);
    return `node:${m?.[1] ?? '?'}`;
  }
  return 'other';
}

export function summariseProfile(file: string, topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const totalHits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  const totalMs = (p.endTime - p.startTime) / 1000;
  const msPerHit = totalMs / totalHits;
  const byName = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idleMs = 0;
  for (const n of p.nodes) {
    const ms = (n.hitCount ?? 0) * msPerHit;
    if (ms === 0) continue;
    const f = n.callFrame;
    const area = areaOf(f);
    if (area === '(idle)') {
      idleMs += ms;
      continue;
    }
    const name = frameName(f);
    byName.set(name, (byName.get(name) ?? 0) + ms);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
  }
  const sort = <K extends string>(m: Map<string, number>, key: K) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, ms]) => ({ [key]: k, ms }) as { [P in K]: string } & { ms: number });
  const top = sort(byName, 'name').slice(0, topN);

  // Native frames have no source: walk up to the first caller outside node:
  // internals and native code, so "writev" turns into "who writes".
  const parent = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    for (const c of n.children ?? []) parent.set(c, n);
  }
  const nativeCallers: ProfileSummary['nativeCallers'] = [];
  for (const t of top.slice(0, 5)) {
    const nodes = p.nodes.filter((n) => !n.callFrame.url && frameName(n.callFrame) === t.name && (n.hitCount ?? 0) > 0);
    if (nodes.length === 0 || t.name.startsWith('(')) continue;
    const callers = new Map<string, number>();
    for (const n of nodes) {
      let up = parent.get(n.id);
      while (up && (!up.callFrame.url || up.callFrame.url.startsWith('node:'))) up = parent.get(up.id);
      const key = up ? frameName(up.callFrame) : '(no JavaScript caller)';
      callers.set(key, (callers.get(key) ?? 0) + (n.hitCount ?? 0) * msPerHit);
    }
    nativeCallers.push({ name: t.name, callers: sort(callers, 'name').slice(0, 4) });
  }
  return { file, totalMs, busyMs: totalMs - idleMs, top, areas: sort(byArea, 'area'), nativeCallers };
}

/** pid -> what the process is, taken from its command line while it ran. */
export function labelProcesses(pids: number[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const worker = argv.map((a) => /([\w-]+-worker)\.ts$/.exec(a)?.[1]).find(Boolean);
      out.set(pid, worker ?? (argv.some((a) => a === 'serve') ? 'primary' : path.basename(argv[0] ?? '?')));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function renderProfiles(dir: string, labels: Map<number, string> = new Map()): string {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return `No profiles in ${dir}.`;
  }
  if (files.length === 0) return `No profiles in ${dir} (processes that die from a signal write none).`;
  const out: string[] = [];
  for (const f of files.sort()) {
    const s = summariseProfile(path.join(dir, f));
    if (s.busyMs < 50) continue;
    const pid = Number(/^CPU\.\d+\.\d+\.(\d+)\./.exec(f)?.[1]);
    const label = labels.get(pid) ?? 'process';
    out.push(`### ${label} (pid ${pid}, ${f}): ${(s.busyMs / 1000).toFixed(2)} s busy of ${(s.totalMs / 1000).toFixed(1)} s`, '');
    out.push('| area | self ms | share of busy |', '|---|---:|---:|');
    for (const a of s.areas.slice(0, 12)) out.push(`| ${a.area} | ${a.ms.toFixed(0)} | ${((100 * a.ms) / s.busyMs).toFixed(1)}% |`);
    out.push('', '| function | self ms | share of busy |', '|---|---:|---:|');
    for (const t of s.top) out.push(`| \`${t.name}\` | ${t.ms.toFixed(0)} | ${((100 * t.ms) / s.busyMs).toFixed(1)}% |`);
    out.push('');
    for (const nc of s.nativeCallers) {
      out.push(`Native \`${nc.name}\` is called from: ${nc.callers.map((c) => `\`${c.name}\` ${c.ms.toFixed(0)} ms`).join(', ')}.`, '');
    }
  }
  return out.length > 0 ? out.join('\n') : 'All profiles were idle.';
}
