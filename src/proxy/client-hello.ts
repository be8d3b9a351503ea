// The proxy's view of a ClientHello: the server name that picks the virtual
// host (and its ALPN offer), before any handshake (Envoy's tls_inspector).

import { readClientHello } from '../tls/index.ts';

export type ClientHelloResult =
  | { kind: 'incomplete' }
  | { kind: 'hello'; serverName?: string; alpn: string[] }
  | { kind: 'invalid'; reason: string };

/** Largest ClientHello we wait for (records may fragment it). */
export const MAX_CLIENT_HELLO = 16 * 1024 + 5 * 4;

/** Parses the handshake records at the start of `buf`. */
export function parseClientHello(buf: Buffer): ClientHelloResult {
  const r = readClientHello(buf, MAX_CLIENT_HELLO);
  if (r.kind !== 'hello') return r;
  if (r.hello.serverNameProblem !== undefined) return { kind: 'invalid', reason: r.hello.serverNameProblem };
  const alpn = r.hello.alpn ?? [];
  return r.hello.serverName === undefined ? { kind: 'hello', alpn } : { kind: 'hello', serverName: r.hello.serverName, alpn };
}
