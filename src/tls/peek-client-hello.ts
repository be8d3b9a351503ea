// Waits for a whole ClientHello at the start of a socket and puts every byte
// read back (socket.unshift), so whatever takes the connection next (a
// TLSSocket, a raw pipe to a passthrough backend) reads it from its first
// byte. Node's TLSSocket drains a wrapped socket's buffered bytes before
// reading its handle, which is what makes the put-back safe.
//
// The caller's parser says what it wants to know from the bytes (the
// proxy: SNI, refusing a bad one; the balancer: the ALPN and signature
// algorithm offer, leaving bad bytes to OpenSSL) and when it has enough.

import type { Socket } from 'node:net';

export type Peeked<T> =
  /** The parser's answer; the bytes are back on the socket. */
  | { kind: 'read'; result: T }
  /** No answer in time; nothing is put back (the caller closes). */
  | { kind: 'timeout' }
  /** The peer ended or closed first (a TCP health check, usually). */
  | { kind: 'closed' };

export interface PeekOptions {
  timeoutMs: number;
  /** Bytes already taken off the socket (past a PROXY header); read first. */
  initial?: Buffer;
}

/** Reads until `parse` answers anything but incomplete. Never rejects;
 *  leaves none of its listeners on the socket. */
export function peekClientHello<T extends { kind: string }>(
  socket: Socket,
  parse: (buf: Buffer) => T | { kind: 'incomplete' },
  opts: PeekOptions,
): Promise<Peeked<Exclude<T, { kind: 'incomplete' }>>> {
  type Result = Peeked<Exclude<T, { kind: 'incomplete' }>>;
  return new Promise((resolve) => {
    let acc: Buffer = opts.initial ?? Buffer.alloc(0);
    let settled = false;
    const finish = (r: Result): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (r.kind === 'read' && acc.length > 0) socket.unshift(acc);
      resolve(r);
    };
    const attempt = (): boolean => {
      if (acc.length === 0) return false;
      const r = parse(acc);
      if (r.kind === 'incomplete') return false;
      finish({ kind: 'read', result: r as Exclude<T, { kind: 'incomplete' }> });
      return true;
    };
    const onEnd = (): void => finish({ kind: 'closed' });
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
        acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
        if (attempt()) return;
      }
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), opts.timeoutMs);
    // The socket keeps the process alive while it is open; the timer need not.
    timer.unref();
    if (attempt()) return;
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    // Bytes may already be buffered from before the call.
    onReadable();
  });
}
