// Reads a PROXY header off the front of a socket before anything else
// (TLS, HTTP) sees the bytes. Whatever arrived past the header is handed
// back so the caller can socket.unshift() it.

import type { Socket } from 'node:net';
import { parseProxyHeader } from './parse.ts';
import { ProxyProtocolError, type ProxyHeader } from './types.ts';

export interface ReadOptions {
  /** Reject with code TIMEOUT if no complete header arrived in time. */
  timeoutMs: number;
  /** Cap on a v2 header's total size (default 4096). */
  maxLength?: number;
}

/** Resolves once a complete header has been read; leaves the socket paused
 *  and open. Rejects with ProxyProtocolError on malformed or oversized input,
 *  timeout (TIMEOUT) or the peer closing first (CLOSED); the caller decides
 *  whether to destroy the socket. */
export function readProxyHeader(socket: Socket, opts: ReadOptions): Promise<{ header: ProxyHeader; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    socket.pause();
    let acc: Buffer = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => {
      finish(() => reject(new ProxyProtocolError('TIMEOUT', `no complete header within ${opts.timeoutMs} ms`)));
    }, opts.timeoutMs);

    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      settle();
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!done && (chunk = socket.read() as Buffer | null) !== null) {
        acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
        let result;
        try {
          result = parseProxyHeader(acc, { maxLength: opts.maxLength });
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (result.kind === 'header') {
          const { header, length } = result;
          const rest = acc.subarray(length);
          finish(() => resolve({ header, rest }));
          return;
        }
      }
    };
    const onEnd = (): void => {
      finish(() => reject(new ProxyProtocolError('CLOSED', `connection closed after ${acc.length} byte(s), before a complete header`)));
    };
    const onError = (err: Error): void => {
      finish(() => reject(new ProxyProtocolError('CLOSED', `connection failed before a complete header: ${err.message}`, { cause: err })));
    };
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    // Data may already be buffered from before the call.
    onReadable();
  });
}
