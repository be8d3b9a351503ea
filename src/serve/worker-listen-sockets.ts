// A balancer worker's side of the kept listening sockets (socket-keeper.ts):
// it reports every socket it listens on, with the socket itself, so the
// primary holds a copy; it listens again on the ones it inherited from the
// worker it replaces.

import type { Server } from 'node:net';
import type { ListenSockets } from '../balancer/index.ts';
import { send } from './worker-process.ts';

interface Closable {
  close(): void;
}

export class WorkerListenSockets implements ListenSockets {
  readonly #inherited = new Map<string, unknown>();

  /** A socket of the worker this one replaces (sent before init). */
  inherit(key: string, handle: unknown): void {
    (this.#inherited.get(key) as Closable | undefined)?.close();
    this.#inherited.set(key, handle);
  }

  take(key: string): unknown {
    const h = this.#inherited.get(key);
    this.#inherited.delete(key);
    return h;
  }

  bound(key: string, server: Server): void {
    // The bare TCP handle, not the server: the primary holds it without
    // listening on it, where a net.Server would start accepting there.
    send({ type: 'listen-socket', key }, (server as unknown as { _handle: unknown })._handle);
  }

  unbound(key: string): void {
    send({ type: 'listen-socket-closed', key });
  }

  orphanReleased(from: number, key: string): void {
    send({ type: 'orphan-closed', from, key });
  }

  /** After the first config: the inherited sockets no listener took close,
   *  here and in the primary (their ports left the config). */
  dropUnused(): void {
    for (const [key, handle] of this.#inherited) {
      (handle as Closable).close();
      this.unbound(key);
    }
    this.#inherited.clear();
  }
}
