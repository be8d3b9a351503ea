// Per-connection facts the request path needs (client address from the
// PROXY header or the socket, scheme, the TLS choice made from SNI), stored
// on the socket under a symbol so requests find them with one property read.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { H1Request } from './h1-connection.ts';
import type { TlsChoice } from './tls-choice.ts';

export type DownstreamRequest = IncomingMessage | Http2ServerRequest | H1Request;

export const kConn = Symbol('isobar.conn');

export interface ConnInfo {
  listener: string;
  /** The port listener whose tables route this connection (ProxyListenerSpec.table); absent: the proxy's own. */
  table?: string;
  /** The address of the connection the proxy accepted (Envoy's direct
   *  remote address): the load balancer's when a PROXY header followed. */
  peerAddress: string;
  clientAddress: string;
  clientPort: number;
  /** X-Forwarded-Proto: TLS listener, or a PROXY v2 SSL TLV with the client-SSL bit. */
  https: boolean;
  /** "ip:port" of the client as the access log prints it. */
  remote: string;
  /** The accepted socket's own port (with peerAddress: Envoy's direct remote address). */
  peerPort?: number;
  /** Counts the process's connections (the access log's CONNECTION_ID). */
  id?: number;
  /** The ClientHello's server name (REQUESTED_SERVER_NAME). */
  sni?: string;
  /** The negotiated TLS version and cipher (OpenSSL names). */
  tlsVersion?: string;
  tlsCipher?: string;
  /** Set on TLS listeners: what the ClientHello selected. */
  tls?: TlsChoice;
  /** X-Forwarded-Client-Cert for this connection's requests, when its
   *  virtual host forwards client certificates and the client sent one. */
  xfcc?: string;
  /** Where the client connected (Envoy's local address): the PROXY
   *  header's destination, else the accepted socket's own address. */
  localAddress?: string;
  localPort?: number;
  /** Set when X-Forwarded-For hops are trusted and clientAddress came from
   *  it: the connection's own client address, which X-Forwarded-For is
   *  appended (src/proxy/trusted-client.ts). */
  connectionAddress?: string;
  /** PEM of the certificate the client presented in the TLS handshake. */
  clientCertPem?: string;
  /** The terminated TLS connection (header policy variables read it). */
  tlsSocket?: TLSSocket;
}

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Reads the per-connection facts for a request (HTTP/1 socket or HTTP/2 session). */
export function connOf(req: DownstreamRequest): ConnInfo | undefined {
  // By the request's kind, not its version: an HTTP/1 request line may
  // claim any version.
  if ('stream' in req) {
    const session = (req as Http2ServerRequest).stream.session as unknown as { [kConn]?: ConnInfo } | undefined;
    return session?.[kConn];
  }
  return (req.socket as unknown as { [kConn]?: ConnInfo })[kConn];
}
