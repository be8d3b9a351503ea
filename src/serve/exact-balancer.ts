// listener.connection-balancer: exact, as Envoy's ExactConnectionBalancer:
// each new connection of a proxy listener goes to the worker holding the
// fewest of that listener's connections (the first such worker on a tie).
// Envoy's workers are threads of one process; isobar's are processes, so
// the primary owns the listening socket (no SO_REUSEPORT) and hands each
// accepted connection over the worker's IPC channel. The primary never
// reads from it: the worker does the PROXY protocol, TLS inspection and
// HTTP as for a connection of its own.
//
// Counts: +1 when a connection is assigned, -1 for each close the worker
// reports; a worker that dies counts 0, as does the one forked after it.
// Node sends one socket per worker at a time and waits for the worker's
// acknowledgement before the next; this keeps its own copy of the socket
// until the worker says 'adopted', so a connection on its way to a worker
// that dies is handed to another one, never lost and never left open.

import { unlinkSync } from 'node:fs';
import net from 'node:net';
import type pino from 'pino';
import type { HandOff } from './messages.ts';

/** Where the primary accepts for one proxy listener. */
export type BalancedListener = { name: string } & ({ host: string; port: number } | { path: string });

/** The sockets of one of a config's port listeners (its public port and
 *  the balancer's socket for it); `label` starts its problem. */
export interface PortAcceptor {
  label: string;
  listeners: BalancedListener[];
}

/** A worker process as the balancer sees it (a ChildProcess). */
export interface HandOffChannel {
  readonly connected: boolean;
  send(msg: HandOff, socket: net.Socket, options: { keepOpen: boolean }, callback: (err: Error | null) => void): boolean;
}

interface Pending {
  id: number;
  listener: string;
  unix: boolean;
  socket: net.Socket;
}

/** One live worker process. */
interface Slot {
  index: number;
  channel: HandOffChannel;
  /** Connections assigned to it and not reported closed, by listener. */
  counts: Map<string, number>;
  /** Sent, not yet adopted (Node sends one socket at a time). */
  inFlight: Pending | undefined;
  queue: Pending[];
}

export class ExactBalancer {
  readonly #listeners: BalancedListener[];
  readonly #logger: pino.Logger;
  readonly #servers = new Map<string, net.Server>();
  /** Where each of the port listeners' sockets listens (sync), by listener name. */
  readonly #synced = new Map<string, string>();
  /** By worker index; a slot is there while its process is live. */
  readonly #slots: (Slot | undefined)[] = [];
  /** Accepted while no worker was live. */
  readonly #waiting: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(listeners: BalancedListener[], logger: pino.Logger) {
    this.#listeners = listeners;
    this.#logger = logger;
  }

  /** Binds every listener's socket; rejects naming the one that failed. */
  async bind(): Promise<void> {
    try {
      for (const l of this.#listeners) this.#servers.set(l.name, await this.#listen(l));
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Opens the sockets of the port listeners a config names and closes
   *  those it no longer names (or names elsewhere); connections they
   *  accepted still go to the workers. Returns the ones that could not be
   *  opened, by port listener, with why; a later call tries them again. */
  async sync(wanted: PortAcceptor[]): Promise<Record<string, string>> {
    const problems: Record<string, string> = {};
    if (this.#closed) return problems;
    const where = new Map(wanted.flatMap((a) => a.listeners.map((l): [string, string] => [l.name, whereOf(l)])));
    for (const [name, at] of [...this.#synced]) {
      if (where.get(name) === at) continue;
      this.#servers.get(name)?.close();
      this.#servers.delete(name);
      this.#synced.delete(name);
    }
    for (const a of wanted) {
      for (const l of a.listeners) {
        if (this.#synced.has(l.name)) continue;
        try {
          this.#servers.set(l.name, await this.#listen(l));
          this.#synced.set(l.name, whereOf(l));
        } catch (err) {
          // The name of the port listener the socket serves.
          const name = a.listeners[0]!.name;
          problems[name] = `${a.label}: ${(err as Error).message}`;
          this.#logger.error({ listener: name }, `port listener not opened: ${problems[name]}`);
        }
      }
    }
    return problems;
  }

  /** Where listener `name` was bound (its port when the spec asked for 0). */
  port(name: string): number | undefined {
    const a = this.#servers.get(name)?.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  /** Worker `index` listens now (started or forked again): it holds nothing yet. */
  workerReady(index: number, channel: HandOffChannel): void {
    const old = this.#slots[index];
    if (old) this.workerGone(old.channel);
    this.#slots[index] = { index, channel, counts: new Map(), inFlight: undefined, queue: [] };
    const waiting = this.#waiting.splice(0);
    for (const p of waiting) this.#assign(p);
  }

  /** That process's channel closed (it died or is draining away): what was
   *  on its way to it goes to the others; what it held no longer counts. */
  workerGone(channel: HandOffChannel): void {
    const i = this.#slots.findIndex((s) => s?.channel === channel);
    if (i < 0) return;
    const slot = this.#slots[i]!;
    this.#slots[i] = undefined;
    const again = slot.inFlight ? [slot.inFlight, ...slot.queue] : slot.queue;
    for (const p of again) this.#assign(p);
  }

  /** The worker has the connection: the primary's copy can go. */
  adopted(channel: HandOffChannel, id: number): void {
    const slot = this.#slotOf(channel);
    const p = slot?.inFlight;
    if (!slot || !p || p.id !== id) return;
    slot.inFlight = undefined;
    // Closes this process's descriptor only: the connection lives on in the worker.
    p.socket.destroy();
    this.#pump(slot);
  }

  /** The worker reports one of `listener`'s connections closed. */
  closed(channel: HandOffChannel, listener: string): void {
    const slot = this.#slotOf(channel);
    if (!slot) return;
    slot.counts.set(listener, Math.max(0, (slot.counts.get(listener) ?? 0) - 1));
  }

  /** Connections assigned to each worker slot and not closed, for `listener`. */
  counts(listener: string): number[] {
    return this.#slots.map((s) => s?.counts.get(listener) ?? 0);
  }

  /** Sockets this process still has open: waiting for a worker, queued
   *  for one or on their way to it (0 once every worker adopted its own). */
  async heldConnections(): Promise<number> {
    const each = [...this.#servers.values()].map((s) => new Promise<number>((resolve) => s.getConnections((_err, n) => resolve(n ?? 0))));
    return (await Promise.all(each)).reduce((a, b) => a + b, 0);
  }

  /** Stops accepting (the ports are free at once). Connections already
   *  accepted still go to the workers, which drain them; with none live
   *  left they are closed. */
  close(): void {
    this.#closed = true;
    for (const s of this.#servers.values()) s.close();
    this.#servers.clear();
    for (const p of this.#waiting.splice(0)) p.socket.destroy();
  }

  #listen(l: BalancedListener): Promise<net.Server> {
    const unix = 'path' in l;
    // pauseOnConnect: nothing is read here, every byte is the worker's.
    const server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (socket) => {
      socket.on('error', () => socket.destroy());
      // Sent with its server set, Node would have every worker track the
      // socket for that server (cluster's way: getConnections() and close()
      // then ask each worker, and wait on one that does not answer). The
      // server still counts it until this process's copy closes.
      (socket as { server: net.Server | null }).server = null;
      this.#assign({ id: this.#nextId++, listener: l.name, unix, socket });
    });
    if (unix) {
      try {
        unlinkSync(l.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`listener ${l.name}: cannot remove stale socket ${l.path}: ${(err as Error).message}`, { cause: err });
      }
    }
    const where = unix ? l.path : `${l.host}:${l.port}`;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new Error(`listener ${l.name}: cannot listen on ${where}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`, { cause: err }));
      });
      const done = (): void => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.#logger.error({ err, listener: l.name }, 'listener error'));
        resolve(server);
      };
      if (unix) server.listen({ path: l.path }, done);
      else server.listen({ host: l.host, port: l.port }, done);
    });
  }

  /** To the live worker with the fewest of the listener's connections. */
  #assign(p: Pending): void {
    if (p.socket.destroyed) return;
    let best: Slot | undefined;
    let fewest = Infinity;
    for (const s of this.#slots) {
      if (!s || !s.channel.connected) continue;
      const n = s.counts.get(p.listener) ?? 0;
      if (n < fewest) {
        best = s;
        fewest = n;
      }
    }
    if (!best) {
      // Between a worker's death and its successor (or before the first
      // listens), the connection waits in the primary, unread.
      if (this.#closed) p.socket.destroy();
      else this.#waiting.push(p);
      return;
    }
    best.counts.set(p.listener, fewest + 1);
    best.queue.push(p);
    this.#pump(best);
  }

  #pump(slot: Slot): void {
    while (!slot.inFlight) {
      const p = slot.queue.shift();
      if (!p) return;
      if (p.socket.destroyed) {
        // The client went away while it waited: it was never the worker's.
        slot.counts.set(p.listener, Math.max(0, (slot.counts.get(p.listener) ?? 0) - 1));
        continue;
      }
      slot.inFlight = p;
      const msg: HandOff = { type: 'connection', id: p.id, listener: p.listener, unix: p.unix };
      try {
        slot.channel.send(msg, p.socket, { keepOpen: true }, (err) => {
          // The channel broke: workerGone() re-sends what was on its way.
          if (err) this.#logger.debug({ worker: slot.index, err: err.message }, 'hand-off not sent');
        });
      } catch (err) {
        // A channel closing under the send: the same, without the callback.
        this.#logger.debug({ worker: slot.index, err: (err as Error).message }, 'hand-off not sent');
      }
    }
  }

  #slotOf(channel: HandOffChannel): Slot | undefined {
    return this.#slots.find((s) => s?.channel === channel);
  }
}

function whereOf(l: BalancedListener): string {
  return 'path' in l ? l.path : `${l.host}:${l.port}`;
}
