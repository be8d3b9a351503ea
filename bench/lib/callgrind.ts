// Readers for what valgrind's callgrind writes (bench/instructions.ts): the
// instruction total of a dump, the per-function self costs callgrind_annotate
// prints, and V8's perf map, which names the compiled JavaScript that
// callgrind only knows by address.

/** The first event's total of a callgrind dump (Ir: instructions). */
export function callgrindTotal(dump: string): number | undefined {
  const m = /^(?:totals|summary): (\d+)/m.exec(dump);
  return m ? Number(m[1]) : undefined;
}

export interface FunctionCost {
  /** self instructions */
  ir: number;
  /** `Builtins_StringAdd_CheckNone`, a C++ name, or `0x…` for code callgrind has no symbol for */
  name: string;
}

/** The function lines of `callgrind_annotate` output: `12,345 ( 1.2%)  file:function [object]`. */
export function parseAnnotateSelf(text: string): FunctionCost[] {
  const out: FunctionCost[] = [];
  const line = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[[^\]]*\])?$/;
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m || m[2] === 'PROGRAM TOTALS') continue;
    const where = m[2]!;
    // `file:function`; `???:` when callgrind knows no file. C++ names contain `::`, so split at the first single colon.
    const colon = where.search(/(?<!:):(?!:)/);
    out.push({ ir: Number(m[1]!.replaceAll(',', '')), name: colon >= 0 ? where.slice(colon + 1) : where });
  }
  return out;
}

export interface PerfMapEntry {
  start: number;
  end: number;
  name: string;
}

/** V8's /tmp/perf-PID.map (`--perf-basic-prof`): `START SIZE NAME`, hex, one code object a line.
 *  An address reused by later code is named by the later line. Malformed lines are skipped. */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const byStart = new Map<number, PerfMapEntry>();
  for (const l of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/i.exec(l.trim());
    if (!m) continue;
    const start = parseInt(m[1]!, 16);
    const size = parseInt(m[2]!, 16);
    if (!Number.isSafeInteger(start) || !(size > 0)) continue;
    byStart.set(start, { start, end: start + size, name: m[3]! });
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** The entry whose code holds `addr`, by binary search over entries sorted by start. */
export function lookupPerfMap(entries: readonly PerfMapEntry[], addr: number): PerfMapEntry | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.start <= addr) lo = mid + 1;
    else hi = mid - 1;
  }
  const e = entries[hi];
  return e !== undefined && addr < e.end ? e : undefined;
}

/** Names the `0x…` functions from the perf map and sums the costs of one
 *  name (a JavaScript function compiled more than once), costliest first.
 *  Code the map does not name is summed as `(compiled code, unnamed)`. */
export function nameCompiledCode(fns: readonly FunctionCost[], map: readonly PerfMapEntry[]): FunctionCost[] {
  const sums = new Map<string, number>();
  for (const f of fns) {
    let name = f.name;
    if (/^0x[0-9a-f]+$/i.test(name)) name = lookupPerfMap(map, parseInt(name, 16))?.name ?? '(compiled code, unnamed)';
    sums.set(name, (sums.get(name) ?? 0) + f.ir);
  }
  return [...sums].map(([name, ir]) => ({ name, ir })).sort((a, b) => b.ir - a.ir || (a.name < b.name ? -1 : 1));
}
