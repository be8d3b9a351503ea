// Per-connection facts the request path needs (client address from the
// PROXY header or the socket, scheme, the TLS choice made from SNI), stored
// on the socket under a symbol so requests find them with one property read.
import type { TlsChoice } from './tls-choice.ts';

export const kConn = Symbol('isobar.conn');

export interface ConnInfo {
  listener: string;
  clientAddress: string;
  clientPort: number;
  /** X-Forwarded-Proto: TLS listener, or a PROXY v2 SSL TLV with the client-SSL bit. */
  https: boolean;
  /** "ip:port" of the client as the access log prints it. */
  remote: string;
  /** Set on TLS listeners: what the ClientHello selected. */
  tls?: TlsChoice;
}

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
