// What every worker process shares: it takes orders from the primary over
// IPC, reports failures instead of crashing, ignores the terminal's signals
// (the primary decides when to drain), and drains and exits when told to or
// when the primary is gone.

import type { FromWorker } from './messages.ts';

export interface WorkerHooks<Msg extends { type: string }> {
  /** Handles every message but 'shutdown'; `handle`: the socket a hand-off carries. */
  handle(msg: Msg, handle?: unknown): Promise<void>;
  /** Stops the runtime, letting in-flight work finish for at most drainTimeoutMs. */
  drain(drainTimeoutMs: number): Promise<void>;
}

/** To the primary; `handle`, a socket or a bare TCP handle, goes with it.
 *  Nothing once the channel is closed (the primary died): a send then
 *  emits an 'error' that would crash the worker while it drains. */
export function send(msg: FromWorker, handle?: unknown): void {
  if (!process.connected) return;
  process.send?.(msg, handle as Parameters<NonNullable<typeof process.send>>[1]);
}

export function runWorker<Msg extends { type: string }>(hooks: WorkerHooks<Msg>): void {
  let shuttingDown = false;
  const shutdown = async (drainTimeoutMs: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    await hooks.drain(drainTimeoutMs);
    send({ type: 'drained' });
    if (process.connected) process.disconnect?.();
    process.exit(0);
  };
  process.on('message', (raw, handle) => {
    const msg = raw as Msg & { drainTimeoutMs?: number };
    const work = msg.type === 'shutdown' ? shutdown(msg.drainTimeoutMs ?? 0) : hooks.handle(msg, handle);
    work.catch((err: unknown) => {
      send({ type: 'fatal', message: err instanceof Error ? err.message : String(err), code: (err as NodeJS.ErrnoException).code });
    });
  });
  // A terminal's Ctrl-C reaches the whole process group; the worker drains
  // when the primary says so, not before.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // The primary died: do not keep serving an orphaned config forever.
  process.on('disconnect', () => void shutdown(0));
}
