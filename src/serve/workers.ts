// A pool of worker processes of one role. Forks them, re-forks one that
// dies unexpectedly (and hands it the latest config whole), and fans configs
// out: each version's message is made once for all workers and may be a
// delta on the version before; a worker that cannot take it (it answers
// 'resync') is sent the whole latest config, alone.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type pino from 'pino';
import type { FromWorker } from './messages.ts';
import type { SocketKeeper } from './socket-keeper.ts';

export type WorkerRole = 'proxy' | 'balancer';

interface Worker {
  index: number;
  child: ChildProcess;
  appliedVersion: number;
  listening: boolean;
  /** The version last sent to this worker whole, so that one worker asking
   *  several times for the same version is sent it once. */
  wholeSent: number;
}

export interface WorkerPoolOptions<Init, Config> {
  role: WorkerRole;
  count: number;
  logger: pino.Logger;
  init(index: number): Init;
  /** The message for every worker: may be a delta on the version before.
   *  Called exactly once per version, in order. */
  configMessage(version: number, config: Config): unknown;
  /** The same version whole, for one worker with nothing to build on. */
  wholeConfigMessage(version: number, config: Config): unknown;
  /** A worker reported an error it cannot recover from (e.g. a port in use
   *  at start): the primary decides what to do. */
  onFatal(message: string, code: string | undefined, role: WorkerRole): void;
  onApplied?(msg: Extract<FromWorker, { type: 'applied' }>, index: number): void;
  /** Worker `index` listens (at start, or a process forked to replace one). */
  onListening?(index: number, child: ChildProcess): void;
  /** That process exited, and every message it sent has been read. */
  onGone?(child: ChildProcess): void;
  /** Keeps copies of the workers' listening sockets (balancer workers). */
  sockets?: SocketKeeper;
  /** A worker's connection hand-off messages (exact-balancer.ts). */
  onHandOff?(msg: Extract<FromWorker, { type: 'adopted' | 'closed' }>, child: ChildProcess): void;
}

// node:http2 limits request headers to the process-wide
// --max-http-header-size (16 KiB by default), whatever its server asks: give
// workers the proxy's HTTP/1 limit (60 KiB, as Envoy), so both protocols hold the same.
const MAX_HEADER_FLAG = `--max-http-header-size=${60 * 1024}`;

// V8 sets the old generation's limit after each full GC from how fast the
// old generation grew. A balancer worker's barely grows (its flows are
// short-lived buffers), so the factor drops to its minimum, 1.1, and the
// limit to the heap plus one young generation: the next scavenge then
// starts marking again, and the worker marks its whole heap after nearly
// every scavenge under load (measured: one full GC per 1.4 scavenges, a
// quarter of its instructions; bench/results/2026-12-03-gc.md). A fixed
// factor of 3 ends that loop; a balancer worker's heap is small (its code,
// listeners and certificates: about 20 MB), so the headroom costs little.
const ROLE_FLAGS: Record<WorkerRole, readonly string[]> = {
  proxy: [],
  balancer: ['--heap-growing-percent=200'],
};

const ENTRY: Record<WorkerRole, string> = {
  proxy: fileURLToPath(new URL('./proxy-worker.ts', import.meta.url)),
  balancer: fileURLToPath(new URL('./balancer-worker.ts', import.meta.url)),
};

export class WorkerPool<Init, Config> {
  readonly #o: WorkerPoolOptions<Init, Config>;
  #workers: Worker[] = [];
  #latest: { version: number; config: Config } | undefined;
  #stopping = false;
  #waiters = new Map<number, (msg: Extract<FromWorker, { type: 'health' | 'metrics' | 'challenges' }>) => void>();
  /** ACME challenges every worker answers (balancer workers); a worker
   *  started later is sent them as it starts listening. */
  #challenges: unknown[] = [];
  #nextRequest = 1;

  constructor(o: WorkerPoolOptions<Init, Config>) {
    this.#o = o;
  }

  /** Fork every worker and wait until each has bound its listeners. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.#o.count }, (_, i) => this.#spawn(i)));
  }

  /** Send a config to every worker; resolves when all have applied it. A
   *  worker still starting gets it whole once it listens. */
  apply(version: number, config: Config): Promise<void> {
    this.#latest = { version, config };
    const msg = this.#o.configMessage(version, config);
    const waits = this.#workers.map((w) => this.#waitApplied(w, version));
    for (const w of this.#workers) if (w.listening) w.child.send(msg as object);
    return Promise.all(waits).then(() => undefined);
  }

  /** Sends `msg` to every worker, started or starting (its init went first). */
  broadcast(msg: Init): void {
    for (const w of this.#workers) if (w.child.connected) w.child.send(msg as object);
  }

  /** True when every worker has applied the latest config. */
  upToDate(): boolean {
    if (!this.#latest) return false;
    const v = this.#latest.version;
    return this.#workers.length === this.#o.count && this.#workers.every((w) => w.listening && w.appliedVersion >= v);
  }

  /** Ask each worker for its health report (balancer workers). */
  async health(timeoutMs = 2000): Promise<Extract<FromWorker, { type: 'health' }>[]> {
    const replies = await this.#ask<'health'>('health', timeoutMs);
    return replies.map((r) => r.reply);
  }

  /** Ask each worker what it has counted; with the slot and the process
   *  that answered, so a replaced process can be told from its successor. */
  async metrics(timeoutMs = 2000): Promise<{ slot: string; pid: number; metrics: Extract<FromWorker, { type: 'metrics' }>['metrics'] }[]> {
    const replies = await this.#ask<'metrics'>('metrics', timeoutMs);
    return replies.map((r) => ({ slot: `${this.#o.role}/${r.index}`, pid: r.pid, metrics: r.reply.metrics }));
  }

  /** Every worker answers these ACME challenges from now on; resolves once
   *  each connected worker has them. */
  async setChallenges(challenges: unknown[], timeoutMs = 5000): Promise<void> {
    this.#challenges = challenges;
    await this.#ask('challenges', timeoutMs, { challenges });
  }

  /** Sends `type` to every connected worker and collects the answers that
   *  come within timeoutMs (a worker starting or dying is left out). */
  async #ask<T extends 'health' | 'metrics' | 'challenges'>(type: T, timeoutMs: number, extra: object = {}): Promise<{ index: number; pid: number; reply: Extract<FromWorker, { type: T }> }[]> {
    const asks = this.#workers.map(
      (w) =>
        new Promise<{ index: number; pid: number; reply: Extract<FromWorker, { type: T }> } | undefined>((resolve) => {
          if (!w.child.connected) return resolve(undefined);
          const requestId = this.#nextRequest++;
          const pid = w.child.pid ?? 0;
          const timer = setTimeout(() => {
            this.#waiters.delete(requestId);
            resolve(undefined);
          }, timeoutMs);
          this.#waiters.set(requestId, (m) => {
            clearTimeout(timer);
            resolve({ index: w.index, pid, reply: m as Extract<FromWorker, { type: T }> });
          });
          w.child.send({ ...extra, type, requestId });
        }),
    );
    return (await Promise.all(asks)).filter((m) => m !== undefined);
  }

  /** Tell every worker to drain and wait for them to exit. */
  async stop(drainTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => w.child.kill('SIGKILL'), drainTimeoutMs + 5000);
            w.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (w.child.connected) w.child.send({ type: 'shutdown', drainTimeoutMs });
            else w.child.kill('SIGTERM');
          }),
      ),
    );
  }

  /** Kill every worker at once (start-up failures). */
  kill(): void {
    this.#stopping = true;
    for (const w of this.#workers) w.child.kill('SIGKILL');
  }

  pids(): number[] {
    return this.#workers.map((w) => w.child.pid ?? 0);
  }

  #spawn(index: number): Promise<void> {
    const child = fork(ENTRY[this.#o.role], [], {
      execPath: process.execPath,
      execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect') && !a.startsWith('--test')), MAX_HEADER_FLAG, ...ROLE_FLAGS[this.#o.role]],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker: Worker = { index, child, appliedVersion: 0, listening: false, wholeSent: 0 };
    this.#workers[index] = worker;
    child.on('message', (raw, handle) => this.#onMessage(worker, raw as FromWorker, handle));
    const onGone = this.#o.onGone;
    if (onGone) child.once('exit', () => afterLastMessage(child, () => onGone(child)));
    return new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null): void => {
        if (!worker.listening) {
          reject(new Error(`${this.#o.role} worker ${index} exited during start-up (code ${code ?? signal})`));
          return;
        }
        if (this.#stopping) return;
        this.#o.logger.error({ role: this.#o.role, worker: index, code, signal }, 'worker exited unexpectedly; starting a new one');
        this.#o.sockets?.gone(index, child, this.#workers.filter((w) => w.listening && w.child !== child).map((w) => w.child));
        this.#spawn(index)
          .then(() => this.#sendWhole(this.#workers[index]!))
          .catch((err: Error) => {
            this.#o.sockets?.abandoned(index);
            this.#o.onFatal(err.message, undefined, this.#o.role);
          });
      };
      child.once('exit', onExit);
      child.once('error', (err) => reject(err));
      const onListening = (raw: unknown): void => {
        const msg = raw as FromWorker;
        if (msg.type === 'listening') {
          worker.listening = true;
          child.off('message', onListening);
          this.#o.onListening?.(index, child);
          if (this.#challenges.length > 0) child.send({ type: 'challenges', requestId: 0, challenges: this.#challenges });
          resolve();
        } else if (msg.type === 'fatal' && !worker.listening) {
          child.off('message', onListening);
          reject(Object.assign(new Error(msg.message), { code: msg.code }));
        }
      };
      child.on('message', onListening);
      // The sockets of the worker this one replaces go first: IPC keeps the order.
      this.#o.sockets?.starting(index, child);
      child.send(this.#o.init(index) as object);
    });
  }

  /** The latest config, whole, to one worker (unless already on its way). */
  #sendWhole(w: Worker): void {
    const latest = this.#latest;
    if (!latest || w.wholeSent === latest.version || !w.child.connected) return;
    try {
      const msg = this.#o.wholeConfigMessage(latest.version, latest.config);
      w.wholeSent = latest.version;
      w.child.send(msg as object);
    } catch (err) {
      // Called from IPC events: a failure here must not end the primary.
      this.#o.logger.error({ role: this.#o.role, worker: w.index, err: (err as Error).message }, 'could not make the whole configuration for a worker');
    }
  }

  #waitApplied(w: Worker, version: number): Promise<void> {
    if (w.appliedVersion >= version) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onMsg = (raw: unknown): void => {
        const msg = raw as FromWorker;
        if ((msg.type === 'applied' && msg.version >= version) || msg.type === 'fatal') {
          w.child.off('message', onMsg);
          w.child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (): void => {
        w.child.off('message', onMsg);
        resolve();
      };
      w.child.on('message', onMsg);
      w.child.once('exit', onExit);
    });
  }

  #onMessage(w: Worker, msg: FromWorker, handle: unknown): void {
    switch (msg.type) {
      case 'applied':
        w.appliedVersion = Math.max(w.appliedVersion, msg.version);
        this.#o.onApplied?.(msg, w.index);
        this.#o.sockets?.applied(w.index, w.child);
        return;
      case 'listen-socket':
        if (this.#o.sockets) this.#o.sockets.kept(w.index, w.child, msg.key, handle as { close(): void });
        else (handle as { close(): void } | undefined)?.close();
        return;
      case 'listen-socket-closed':
        this.#o.sockets?.closed(w.index, w.child, msg.key);
        return;
      case 'orphan-closed':
        this.#o.sockets?.orphanClosed(msg.from, w.child, msg.key);
        return;
      case 'resync':
        this.#o.logger.info({ role: this.#o.role, worker: w.index, version: msg.version }, 'worker has no base for a config delta; sending it the whole configuration');
        this.#sendWhole(w);
        return;
      case 'health':
      case 'metrics':
      case 'challenges': {
        const waiter = this.#waiters.get(msg.requestId);
        this.#waiters.delete(msg.requestId);
        waiter?.(msg);
        return;
      }
      case 'fatal':
        if (w.listening) this.#o.onFatal(msg.message, msg.code, this.#o.role);
        return;
      case 'adopted':
      case 'closed':
        this.#o.onHandOff?.(msg, w.child);
        return;
      default:
        return;
    }
  }
}

/** Runs `then` once the IPC channel of an exited child has been read to its
 *  end: 'exit' may come before its last messages do. (Node emits no
 *  'disconnect' while a sent socket awaits the child's acknowledgement,
 *  which a dead child never gives.) */
function afterLastMessage(child: ChildProcess, then: () => void, tries = 0): void {
  if (!child.connected || tries >= 500) return then();
  setTimeout(() => afterLastMessage(child, then, tries + 1), 10);
}
