// The CheckRequest, built as Envoy's ext_authz filter builds it
// (check_request_utils.cc): peers from the connection, the request's
// pseudo-headers and headers (lower-case, repeated ones joined with ","),
// the body when asked, and the context extensions. Pure.
import { X509Certificate } from 'node:crypto';
import type { CheckRequestMsg, PeerMsg } from './proto.ts';
import type { AuthzSettings, PeerFacts, RequestFacts } from './types.ts';

/** Envoy's own header: a client's copy is never passed on. */
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';

export function buildCheckRequest(facts: RequestFacts, settings: AuthzSettings): CheckRequestMsg {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  // Envoy's header map holds the pseudo-headers first; Host is :authority.
  headers[':authority'] = facts.host;
  headers[':path'] = facts.path;
  headers[':method'] = facts.method;
  headers[':scheme'] = facts.scheme;
  const list = facts.headers;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const key = list[i]!.toLowerCase();
    if (key === 'host' || key === PARTIAL_BODY_HEADER || key.charCodeAt(0) === 58 /* : */) continue;
    const value = list[i + 1]!;
    const prior = headers[key];
    headers[key] = prior === undefined ? value : `${prior},${value}`;
  }
  const http: CheckRequestMsg['attributes']['request']['http'] = {
    id: facts.id,
    method: facts.method,
    headers,
    path: facts.path,
    host: facts.host,
    scheme: facts.scheme,
    size: facts.body?.received ?? 0,
    protocol: facts.protocol,
  };
  const wb = settings.withRequestBody;
  if (wb && facts.body) {
    const data = facts.body.data.length > wb.maxRequestBytes ? facts.body.data.subarray(0, wb.maxRequestBytes) : facts.body.data;
    if (wb.packAsBytes) http.raw_body = data;
    else http.body = data.toString('utf8');
    headers[PARTIAL_BODY_HEADER] = data.length !== facts.body.received ? 'true' : 'false';
  }
  const seconds = Math.floor(facts.startTimeMs / 1000);
  return {
    attributes: {
      source: peer(facts.source, true),
      destination: peer(facts.destination, false),
      request: {
        time: { seconds, nanos: Math.round((facts.startTimeMs - seconds * 1000) * 1e6) },
        http,
      },
      context_extensions: { ...facts.contextExtensions },
    },
  };
}

function peer(p: PeerFacts, withCertificate: boolean): PeerMsg {
  const out: PeerMsg = { address: { socket_address: { address: p.address, port_value: p.port } } };
  if (p.certificatePem) {
    const principal = principalOf(p.certificatePem);
    if (principal !== '') out.principal = principal;
    // include_peer_certificate (Contour sets it): the client's certificate, URL-encoded.
    if (withCertificate) out.certificate = encodeURIComponent(p.certificatePem);
  }
  return out;
}

const principals = new Map<string, string>();

/** The URI SAN, else the DNS SAN, else the subject (RFC 2253 order), as
 *  Envoy names a peer. */
export function principalOf(pem: string): string {
  const known = principals.get(pem);
  if (known !== undefined) return known;
  let principal = '';
  try {
    const cert = new X509Certificate(pem);
    const sans = (cert.subjectAltName ?? '').split(', ');
    const uri = sans.find((s) => s.startsWith('URI:'));
    const dns = sans.find((s) => s.startsWith('DNS:'));
    if (uri) principal = uri.slice(4);
    else if (dns) principal = dns.slice(4);
    else principal = cert.subject.split('\n').filter((x) => x !== '').reverse().join(',');
  } catch {
    principal = '';
  }
  if (principals.size > 1000) principals.clear();
  principals.set(pem, principal);
  return principal;
}
