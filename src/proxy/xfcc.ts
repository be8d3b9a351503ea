// X-Forwarded-Client-Cert, as Envoy writes it for a TLS virtual host with
// forward_client_cert_details SANITIZE_SET (Contour's
// clientValidation.forwardClientCertificate): By (the URI SANs of the
// proxy's own certificate), Hash (SHA-256 of the client's certificate),
// then Cert, Chain, Subject, URI and DNS as configured, in that order,
// joined with ";". Every other request has any XFCC a client sent removed
// (Envoy's default, SANITIZE): only the proxy speaks for a certificate.
import type { X509Certificate } from 'node:crypto';
import type { ForwardClientCertificate } from '../dag/index.ts';

export const XFCC = 'x-forwarded-client-cert';

/** The client's certificate as the handshake left it. */
export interface PeerCertificates {
  leaf: X509Certificate;
  /** Leaf first, then the issuers above it. */
  chain: X509Certificate[];
  /** URI SANs of the certificate the proxy presented. */
  localUris: string[];
}

/** One SAN type of a certificate, as Node lists them ("DNS:a, URI:b";
 *  a value with a comma is JSON-quoted). */
export function sans(cert: X509Certificate, type: 'DNS' | 'URI'): string[] {
  const text = cert.subjectAltName;
  if (!text) return [];
  const out: string[] = [];
  const re = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] !== type) continue;
    const v = m[2]!;
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}

/** Node's subject (one RDN a line, RFC 2253 escapes, values of a
 *  multi-valued RDN joined by " + ") in OpenSSL's XN_FLAG_RFC2253 form, as
 *  Envoy prints it: last RDN first, "," and "+" separators, bytes above
 *  ASCII as \XX. */
export function rfc2253(subject: string): string {
  if (subject === '') return '';
  const rdns = subject.split('\n').reverse().map((rdn) => rdn.split(' + ').reverse().join('+'));
  return rdns.join(',').replace(/[^\x00-\x7f]/gu, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => `\\${b.toString(16).toUpperCase()}`).join(''));
}

function urlEncodedPem(certs: X509Certificate[]): string {
  return encodeURIComponent(certs.map((c) => c.toString()).join(''));
}

export function xfccValue(fwd: ForwardClientCertificate, peer: PeerCertificates): string {
  const parts: string[] = [];
  for (const uri of peer.localUris) parts.push(`By=${uri}`);
  parts.push(`Hash=${peer.leaf.fingerprint256.replace(/:/g, '').toLowerCase()}`);
  if (fwd.cert) parts.push(`Cert="${urlEncodedPem([peer.leaf])}"`);
  if (fwd.chain) parts.push(`Chain="${urlEncodedPem(peer.chain)}"`);
  // Envoy keeps the Subject and URI keys even when empty.
  if (fwd.subject) parts.push(`Subject="${rfc2253(peer.leaf.subject)}"`);
  if (fwd.uri) {
    const uris = sans(peer.leaf, 'URI');
    if (uris.length === 0) parts.push('URI=');
    for (const u of uris) parts.push(`URI=${u}`);
  }
  if (fwd.dns) for (const d of sans(peer.leaf, 'DNS')) parts.push(`DNS=${d}`);
  return parts.join(';');
}

/** Peer-certificate info of a TLS connection, as Node reports it. */
interface PeerInfo {
  raw?: Buffer;
  issuerCertificate?: PeerInfo;
}

/** What a TLS socket's handshake left: the client's certificate and the
 *  chain above it. Node appends the trust anchor it verified against
 *  (a self-signed root a client rarely sends); it is left out, so Chain is
 *  what the client sent, as Envoy's is. Null without a client certificate. */
export function peerCertificatesOf(
  socket: { getPeerCertificate(detailed: true): PeerInfo; getX509Certificate(): X509Certificate | undefined },
  toX509: (der: Buffer) => X509Certificate,
): PeerCertificates | null {
  const info = socket.getPeerCertificate(true);
  if (!info?.raw) return null;
  const chain: X509Certificate[] = [];
  let cur: PeerInfo | undefined = info;
  const seen = new Set<PeerInfo>();
  while (cur?.raw && !seen.has(cur)) {
    seen.add(cur);
    chain.push(toX509(cur.raw));
    cur = cur.issuerCertificate;
  }
  const last = chain[chain.length - 1]!;
  if (chain.length > 1 && last.checkIssued(last)) chain.pop();
  const local = socket.getX509Certificate();
  return { leaf: chain[0]!, chain, localUris: local ? sans(local, 'URI') : [] };
}
