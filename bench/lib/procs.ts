// Child processes started by the benchmark: spawned in their own process
// group so that one signal stops a server and everything it forked, and
// always stopped again on exit, Ctrl-C or an error.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  logPath: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
}

const running = new Set<Managed>();
/** Short-lived clients (wrk, h2load, curl) in flight, killed with the servers. */
const clients = new Set<ChildProcess>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort: synchronous, so it also runs on process.exit().
  process.on('exit', () => {
    for (const c of clients) c.kill('SIGKILL');
    for (const m of running) killGroup(m.pid, 'SIGKILL');
  });
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${sig}, stopping servers...\n`);
    void stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** Starts a long-running server; its stdout and stderr go to logPath. */
export function startServer(name: string, cmd: string, args: string[], logPath: string, opts: SpawnOptions = {}): Managed {
  installHooks();
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(m);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      running.delete(m);
      resolve(`error: ${err.message}`);
    });
  });
  const m: Managed = { name, child, pid: child.pid, logPath, exited };
  running.add(m);
  return m;
}

/** SIGTERM to the group, SIGKILL after graceMs if still there. */
export async function stop(m: Managed, graceMs = 3000): Promise<void> {
  if (!running.has(m)) return;
  killGroup(m.pid, 'SIGTERM');
  const timer = setTimeout(() => killGroup(m.pid, 'SIGKILL'), graceMs);
  await m.exited;
  clearTimeout(timer);
  // Workers that outlived their parent (same group) go too.
  killGroup(m.pid, 'SIGKILL');
}

export async function stopAll(): Promise<void> {
  for (const c of clients) c.kill('SIGKILL');
  await Promise.all([...running].map((m) => stop(m)));
}

/** Runs a benchmark script's main: an error ends it with exit 1 and
 *  `program: message`, and every process it started is stopped either way. */
export async function runMain(program: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`${program}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

export function isRunning(m: Managed): boolean {
  return running.has(m);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a short command to completion (a client, openssl, curl, apt-get). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  installHooks();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    clients.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.once('error', (err) => {
      clients.delete(child);
      if (timer) clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + err.message });
    });
    child.once('close', (code, signal) => {
      clients.delete(child);
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Like run() but throws with the command's stderr when it fails. */
export async function runOk(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** The pid and all its descendants (nginx workers, isobar workers). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

interface ProcStat {
  ppid: number;
  /** utime + stime, clock ticks */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CLK_TCK is 100 on every Linux this runs on (getconf CLK_TCK). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) used so far by each pid, keyed by pid. */
export function cpuSnapshot(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) out.set(pid, s.ticks / TICKS_PER_SECOND);
  }
  return out;
}

/** CPU seconds used between two snapshots; a pid that appeared counts from 0. */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}

/** CPU nanoseconds (user + system) of every thread of pid, from
 *  /proc/PID/task/TID/schedstat (its first field: time on a CPU); the clock
 *  ticks of /proc/PID/stat are 10 ms coarse. */
export function cpuNs(pid: number): number | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let sum = 0;
  for (const t of tasks) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended */
    }
  }
  return sum;
}
