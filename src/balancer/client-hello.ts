// The balancer's view of a ClientHello: the ALPN offer (answered by the
// listener's policy) and the signature algorithms (which certificate key
// type the client can verify). Read without consuming: the bytes go back to
// the socket for the TLS layer. Anything that is not a well-formed
// ClientHello yields "not offered" and is left for OpenSSL to refuse.

import type { Socket } from 'node:net';
import { peekClientHello, readClientHello } from '../tls/index.ts';

export interface ClientHelloInfo {
  /** ALPN protocols offered, in the client's order. */
  alpn?: string[];
  /** signature_algorithms (TLS SignatureScheme codes). */
  sigalgs?: number[];
  /** server_name (SNI), when well-formed: a TLS-ALPN-01 challenge is chosen by it. */
  serverName?: string;
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
  const r = readClientHello(buf);
  if (r.kind === 'incomplete') return r;
  if (r.kind === 'invalid') return { kind: 'done', hello: {} };
  // Keys only for the extensions the client sent, as the TLS layer sees them.
  const hello: ClientHelloInfo = {};
  if ('alpn' in r.hello) hello.alpn = r.hello.alpn;
  if ('sigalgs' in r.hello) hello.sigalgs = r.hello.sigalgs;
  if (r.hello.serverName !== undefined) hello.serverName = r.hello.serverName;
  return { kind: 'done', hello };
}

/** Waits for the whole ClientHello, puts the bytes back, and resolves with
 *  what the client offered (fields absent: not offered or not parseable).
 *  Rejects when the peer closes first or the timeout passes. */
export async function peekClientOffer(socket: Socket, timeoutMs: number): Promise<ClientHelloInfo> {
  const peeked = await peekClientHello(socket, parseClientHello, { timeoutMs });
  if (peeked.kind === 'timeout') throw new Error('no ClientHello in time');
  if (peeked.kind === 'closed') throw new Error('closed before the ClientHello');
  return peeked.result.hello;
}
