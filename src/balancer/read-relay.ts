// A target's bytes to the client without a new ArrayBuffer for every read.
// A plain socket read the usual way gets a 64 KiB backing store per read,
// cut down to what came; under load those stores are the external memory
// that starts most of a balancer worker's full garbage collections on the
// keep-alive chain (bench/results/2026-12-03-gc.md). Here the target
// socket reads into one buffer of the worker's (node:net's `onread`), and
// each read is copied out before the callback returns: small reads land in
// Buffer's shared pool, so nothing outlives the callback but the copy.
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import type { Writable } from 'node:stream';

/** Every relayed socket of the worker reads into this: a read is copied
 *  out in its callback, before the next one can start. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class ReadRelay {
  /** The socket made with `onread` (the last one, when a connect is retried). */
  private from: Socket | undefined;
  private to: Writable | undefined;
  /** Reads before start() (a socket is kept paused until then; never expected). */
  private early: Buffer[] | undefined;

  /** node:net's onread: reads into the worker's buffer, relayed once started. */
  readonly onread = {
    buffer: READ_BUFFER,
    callback: (n: number, buf: Buffer): boolean => this.relay(buf.subarray(0, n)),
  };

  /** A connection that reads through this relay, paused until start(). */
  connect(options: NetConnectOpts): Socket {
    const socket = connect({ ...options, onread: this.onread });
    this.from = socket;
    socket.pause();
    return socket;
  }

  /** Whether `socket` reads through this relay. */
  relays(socket: Socket): boolean {
    return this.from === socket;
  }

  /** Relays `from`'s bytes to `to` from now on, with back-pressure (a
   *  write that fills `to` stops reading until it drains), and ends `to`
   *  when `from` ends, as pipe() does. */
  start(from: Socket, to: Writable): void {
    this.to = to;
    for (const c of this.early ?? []) to.write(c);
    this.early = undefined;
    to.on('drain', () => from.resume());
    from.once('end', () => to.end());
    from.resume();
  }

  private relay(read: Buffer): boolean {
    // A copy: the next read overwrites the buffer.
    const chunk = Buffer.from(read);
    const to = this.to;
    if (to === undefined) {
      (this.early ??= []).push(chunk);
      return true;
    }
    // false: node:net stops reading; resume() on drain starts it again.
    return to.write(chunk);
  }
}
