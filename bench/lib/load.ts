// Load generators: wrk (HTTP/1.1) and h2load (HTTP/2), and parsers for
// what they print.

import { readFileSync, rmSync } from 'node:fs';
import { run } from './procs.ts';

export interface LoadResult {
  requests: number;
  rps: number;
  /** response bytes per second as the client counted them (headers included for wrk) */
  bytesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** non-2xx responses + socket errors: anything that is not a good answer */
  errors: number;
  errorDetail: string;
}

export interface LoadSettings {
  threads: number;
  connections: number;
  durationS: number;
  /** h2load streams per connection */
  h2Streams: number;
}

// us as a divisor: 52 / 1000 is exactly 0.052, 52 * 0.001 is not.
const UNITS_MS: Record<string, (x: number) => number> = { us: (x) => x / 1000, ms: (x) => x, s: (x) => x * 1000, m: (x) => x * 60_000 };
const UNITS_BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`unreadable duration "${text}"`);
  return UNITS_MS[m[2]!]!(Number(m[1]));
}

function bytes(text: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(text.trim());
  if (!m) throw new Error(`unreadable size "${text}"`);
  return Number(m[1]) * UNITS_BYTES[m[2]!]!;
}

/** Parses `wrk --latency` output. Throws with the text when it is not wrk's report. */
export function parseWrk(out: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const transfer = /^Transfer\/sec:\s+(\S+)/m.exec(out);
  const total = /^\s*(\d+) requests in /m.exec(out);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out);
  const p99 = /^\s+99%\s+(\S+)/m.exec(out);
  if (!rps || !transfer || !total || !p50 || !p99) throw new Error(`not a wrk --latency report:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const details: string[] = [];
  let errors = 0;
  if (non2xx) {
    errors += Number(non2xx[1]);
    details.push(`${non2xx[1]} non-2xx`);
  }
  if (sock) {
    const [c, r, w, t] = sock.slice(1).map(Number) as [number, number, number, number];
    errors += c + w + t;
    // A read error is how wrk counts a server closing a kept-alive
    // connection; with `Connection: close` that is every request.
    if (c + r + w + t > 0) details.push(`socket errors connect ${c}, read ${r}, write ${w}, timeout ${t}`);
  }
  if (Number(total[1]) === 0) throw new Error(`wrk completed no request:\n${out}`);
  return {
    requests: Number(total[1]),
    rps: Number(rps[1]),
    bytesPerSec: bytes(transfer[1]!),
    p50Ms: durationMs(p50[1]!),
    p99Ms: durationMs(p99[1]!),
    errors,
    errorDetail: details.join('; '),
  };
}

export async function runWrk(url: string, s: LoadSettings, headers: string[]): Promise<LoadResult> {
  const args = ['-t', String(s.threads), '-c', String(s.connections), '-d', `${s.durationS}s`, '--latency', '--timeout', '10s'];
  for (const h of headers) args.push('-H', h);
  args.push(url);
  const r = await run('wrk', args, { timeoutMs: (s.durationS + 30) * 1000 });
  if (r.code !== 0) throw new Error(`wrk failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return parseWrk(r.stdout);
}

/** The value at quantile q (0..1) of sorted numbers, nearest rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx]!;
}

/** Parses h2load's summary plus its --log-file (per-request latency, for p50/p99). */
export function parseH2load(out: string, logText: string): LoadResult {
  const fin = /finished in [\d.]+\w*, ([\d.]+) req\/s, ([\d.]+)(B|KB|MB|GB)\/s/.exec(out);
  const reqs = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!fin || !reqs || !status) throw new Error(`not an h2load report:\n${out}`);
  const latUs: number[] = [];
  for (const line of logText.split('\n')) {
    const cols = line.split('\t');
    if (cols.length >= 3 && cols[1] !== undefined && /^2\d\d$/.test(cols[1])) latUs.push(Number(cols[2]));
  }
  if (Number(reqs[4]) === 0) throw new Error(`h2load completed no request:\n${out}`);
  latUs.sort((a, b) => a - b);
  const failed = Number(reqs[5]) + Number(reqs[6]) + Number(reqs[7]);
  const bad = Number(status[2]) + Number(status[3]) + Number(status[4]);
  const details: string[] = [];
  if (failed > 0) details.push(`${reqs[5]} failed, ${reqs[6]} errored, ${reqs[7]} timeout`);
  if (bad > 0) details.push(`${bad} non-2xx`);
  return {
    requests: Number(reqs[4]),
    rps: Number(fin[1]),
    bytesPerSec: Number(fin[2]) * UNITS_BYTES[fin[3]!]!,
    p50Ms: quantile(latUs, 0.5) / 1000,
    p99Ms: quantile(latUs, 0.99) / 1000,
    errors: failed + bad,
    errorDetail: details.join('; '),
  };
}

export async function runH2load(url: string, connectTo: string, s: LoadSettings, logFile: string): Promise<LoadResult> {
  rmSync(logFile, { force: true });
  const args = [
    '-t', String(s.threads), '-c', String(s.connections), '-m', String(s.h2Streams), '-D', String(s.durationS),
    '--connect-to', connectTo, '--log-file', logFile, url,
  ];
  const r = await run('h2load', args, { timeoutMs: (s.durationS + 30) * 1000 });
  if (r.code !== 0) throw new Error(`h2load failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  let logText = '';
  try {
    logText = readFileSync(logFile, 'utf8');
  } finally {
    rmSync(logFile, { force: true });
  }
  return parseH2load(r.stdout, logText);
}

/** Requests (responses counted) and failures from h2load's summary. */
export function parseH2loadCounts(out: string): { done: number; succeeded: number; failed: number; non2xx: number } {
  const reqs = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!reqs || !status) throw new Error(`not an h2load report:\n${out}`);
  return {
    done: Number(reqs[3]),
    succeeded: Number(reqs[4]),
    failed: Number(reqs[5]) + Number(reqs[6]) + Number(reqs[7]),
    non2xx: Number(status[2]) + Number(status[3]) + Number(status[4]),
  };
}
