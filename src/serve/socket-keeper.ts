// The primary's copies of the balancer workers' listening sockets. Each
// worker has a socket of its own on every port (SO_REUSEPORT), and when the
// last holder of such a socket closes it, Linux resets the connections still
// queued on it (unless net.ipv4.tcp_migrate_req is 1): a worker's kill -9
// would also reset connections that had not reached it yet, a client's
// reconnection in that instant among them. With a copy in the primary no
// worker's death closes a socket: the dead worker's sockets go to a live
// worker, which accepts on them as well until the replacement listens on
// them again.

import type { ChildProcess } from 'node:child_process';
import type pino from 'pino';
import type { ToBalancerWorker } from './messages.ts';

/** A bare TCP handle as IPC delivers it (never listening in the primary). */
interface Handle {
  close(): void;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}

export class SocketKeeper {
  readonly #logger: pino.Logger;
  /** Worker index -> socket key ("address:port") -> the primary's copy. */
  readonly #held = new Map<number, Map<string, Handle>>();
  /** The process now at each index. */
  readonly #current = new Map<number, ChildProcess>();
  /** Dead worker index -> the live worker accepting on its sockets. */
  readonly #adopter = new Map<number, ChildProcess>();

  constructor(logger: pino.Logger) {
    this.#logger = logger;
  }

  /** Worker `index` starts as `child`: before its init it is sent the
   *  sockets of the worker it replaces, to listen on again. */
  starting(index: number, child: ChildProcess): void {
    this.#current.set(index, child);
    for (const [key, handle] of this.#held.get(index) ?? []) send(child, { type: 'listen-socket', key }, handle);
  }

  /** `child` listens on `handle` as `key`. */
  kept(index: number, child: ChildProcess, key: string, handle: Handle): void {
    if (this.#current.get(index) !== child || !alive(child)) {
      handle.close();
      return;
    }
    let held = this.#held.get(index);
    if (!held) this.#held.set(index, (held = new Map()));
    held.get(key)?.close();
    held.set(key, handle);
  }

  /** `child` closed its socket `key`: so does the primary. */
  closed(index: number, child: ChildProcess, key: string): void {
    if (this.#current.get(index) !== child) return;
    this.#drop(index, key);
  }

  /** The adopter of `from`'s sockets closed `key` (its listener stopped). */
  orphanClosed(from: number, child: ChildProcess, key: string): void {
    if (this.#adopter.get(from) !== child) return;
    this.#drop(from, key);
  }

  /** Worker `index` applied a config: if it is a replacement, it listens
   *  on its sockets again and the adopter lets them go. */
  applied(index: number, child: ChildProcess): void {
    const adopter = this.#adopter.get(index);
    if (adopter === undefined || this.#current.get(index) !== child) return;
    this.#adopter.delete(index);
    if (alive(adopter)) send(adopter, { type: 'release-orphans', from: index });
  }

  /** `child`, worker `index`, died. Its sockets, and those it accepted on
   *  for other dead workers, go to the first live worker of `live`; with
   *  none, they wait in the primary for the replacements. */
  gone(index: number, child: ChildProcess, live: ChildProcess[]): void {
    if (this.#current.get(index) !== child) return;
    const orphaned = [index, ...[...this.#adopter].filter(([, a]) => a === child).map(([from]) => from)];
    const to = live.find(alive);
    for (const from of orphaned) {
      this.#adopter.delete(from);
      const held = this.#held.get(from);
      if (!to || !held || held.size === 0) continue;
      this.#adopter.set(from, to);
      for (const [key, handle] of held) send(to, { type: 'listen-socket', key, from }, handle);
      this.#logger.info({ role: 'balancer', worker: from, sockets: held.size, to: to.pid }, "a live worker accepts on the dead worker's listening sockets until its replacement does");
    }
  }

  /** Worker `index` could not be replaced: with no one accepting on its
   *  sockets, they close (connections on them would wait forever). */
  abandoned(index: number): void {
    if (this.#adopter.has(index)) return;
    for (const key of [...(this.#held.get(index)?.keys() ?? [])]) this.#drop(index, key);
  }

  #drop(index: number, key: string): void {
    const held = this.#held.get(index);
    held?.get(key)?.close();
    held?.delete(key);
  }
}

function send(child: ChildProcess, msg: ToBalancerWorker, handle?: Handle): void {
  if (!child.connected) return;
  child.send(msg, handle as Parameters<ChildProcess['send']>[1], (err) => {
    // A worker that dies while a socket is on its way: the primary's copy stays.
    void err;
  });
}
