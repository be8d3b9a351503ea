// The balancer's view of a ClientHello: the ALPN offer (answered by the
// listener's policy) and the signature algorithms (which certificate key
// type the client can verify). Read without consuming: the bytes go back to
// the socket for the TLS layer. Anything that is not a well-formed
// ClientHello yields "not offered" and is left for OpenSSL to refuse.

import type { Socket } from 'node:net';
import { readClientHello as readHelloBytes } from '../tls/index.ts';

export interface ClientHelloInfo {
  /** ALPN protocols offered, in the client's order. */
  alpn?: string[];
  /** signature_algorithms (TLS SignatureScheme codes). */
  sigalgs?: number[];
}

export type HelloParse = { kind: 'incomplete' } | { kind: 'done'; alpn: string[] | undefined };
export type ClientHelloParse = { kind: 'incomplete' } | { kind: 'done'; hello: ClientHelloInfo };

/** The ALPN part of parseClientHello. */
export function parseClientHelloAlpn(buf: Buffer): HelloParse {
  const r = parseClientHello(buf);
  return r.kind === 'incomplete' ? r : { kind: 'done', alpn: r.hello.alpn };
}

/** Parses the ClientHello from the start of a TLS byte stream. */
export function parseClientHello(buf: Buffer): ClientHelloParse {
  const r = readHelloBytes(buf);
  if (r.kind === 'incomplete') return r;
  if (r.kind === 'invalid') return { kind: 'done', hello: {} };
  // Keys only for the extensions the client sent, as the TLS layer sees them.
  const hello: ClientHelloInfo = {};
  if ('alpn' in r.hello) hello.alpn = r.hello.alpn;
  if ('sigalgs' in r.hello) hello.sigalgs = r.hello.sigalgs;
  return { kind: 'done', hello };
}

/** Waits for the whole ClientHello, puts the bytes back, and resolves with
 *  what the client offered (fields absent: not offered or not parseable).
 *  Rejects when the peer closes first or the timeout passes. */
export function readClientHello(socket: Socket, timeoutMs: number): Promise<ClientHelloInfo> {
  return new Promise((resolve, reject) => {
    let acc: Buffer = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => finish(new Error('no ClientHello in time')), timeoutMs);
    timer.unref();
    const finish = (err: Error | null, hello: ClientHelloInfo = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err);
      else {
        if (acc.length > 0) socket.unshift(acc);
        resolve(hello);
      }
    };
    const onEnd = () => finish(new Error('closed before the ClientHello'));
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
        const r = parseClientHello(acc);
        if (r.kind === 'done') {
          finish(null, r.hello);
          return;
        }
      }
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    onReadable();
  });
}
