// What the proxy does with a client certificate once a TLS handshake is
// done: the leaf-only CRL check (crlOnlyVerifyLeafCert), and the
// X-Forwarded-Client-Cert value for the connection's requests
// (forwardClientCertificate), worked out once per connection. Every
// request then carries exactly the proxy's XFCC, or none: a client's own is
// removed before any filter or upstream sees it (Envoy sanitises at the
// connection manager, ahead of its HTTP filters).
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ConnInfo } from './conn-info.ts';
import type { TlsChoice } from './tls-choice.ts';
import type { RequestHeaders } from './upstream-request.ts';
import { peerCertificatesOf, XFCC, xfccValue } from './xfcc.ts';

/** Calls `serve` once the connection may carry requests, or `refuse`
 *  (synchronously unless a CRL must be consulted). */
export function admitClientCertificate(socket: TLSSocket, conn: ConnInfo, choice: TlsChoice, serve: () => void, refuse: (why: string) => void): void {
  const fwd = choice.forwardClientCertificate;
  const crl = choice.leafCrl;
  if (fwd === undefined && crl === undefined) return serve();
  const peer = peerCertificatesOf(socket, (der) => new X509Certificate(der));
  if (peer === null) return serve(); // no certificate: optional, or validation skipped
  if (fwd !== undefined) conn.xfcc = xfccValue(fwd, peer);
  if (crl === undefined) return serve();
  crl.problem(peer.leaf, peer.chain).then(
    (problem) => (problem === null ? serve() : refuse(problem)),
    (err: unknown) => refuse(err instanceof Error ? err.message : String(err)),
  );
}

/** The request's XFCC header: the connection's, else none. */
export function applyClientCertHeader(headers: RequestHeaders, conn: ConnInfo): void {
  if (conn.xfcc !== undefined) headers[XFCC] = conn.xfcc;
  else if (headers[XFCC] !== undefined) delete headers[XFCC];
}
