// The variables a header policy value may hold, as Contour passes them to
// Envoy (its escapeHeaderValue list) and Envoy's header formatter expands
// them. Anything else between % signs stays literal, as Contour escapes it
// (%UNKNOWN% reaches the backend as "%UNKNOWN%"). A variable with no value
// (no TLS, a missing header) expands to nothing; a header whose whole
// value expands to nothing is not set (Envoy's keep_empty_value: false).
import { createHash, type X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import type { ConnInfo } from './conn-info.ts';
import { rfc2253, sans } from './xfcc.ts';

/** What a header policy value reads from the request being handled. */
export interface OpContext {
  /** Downstream request header (lower-case name; :authority, :path, :method, :scheme too). */
  header(name: string): string | undefined;
  clientAddress: string;
  clientPort: number;
  conn: ConnInfo;
  /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  protocol: string;
  /** The endpoint that answered ("ip:port"); "" before one answered. */
  upstreamAddress: string;
  /** Envoy's response flags so far ("-": none). */
  flags: string;
  /** Envoy's response code details: "via_upstream" for an upstream's answer. */
  codeDetails: string;
}

export type Phase = 'request' | 'response';
export type ValueFn = (c: OpContext) => string;

const HOSTNAME = hostname();

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Per-connection TLS facts, read once per connection. */
interface TlsFacts {
  socket: TLSSocket;
  peer: X509Certificate | undefined;
  local: X509Certificate | undefined;
  values: Map<string, string>;
}
const tlsFacts = new WeakMap<ConnInfo, TlsFacts | null>();

function factsOf(conn: ConnInfo): TlsFacts | null {
  let f = tlsFacts.get(conn);
  if (f !== undefined) return f;
  const socket = conn.tlsSocket;
  if (socket === undefined) f = null;
  else {
    let peer: X509Certificate | undefined;
    let local: X509Certificate | undefined;
    try {
      peer = socket.getPeerX509Certificate();
      local = socket.getX509Certificate();
    } catch {
      // a socket already torn down: no certificates to read
    }
    f = { socket, peer, local, values: new Map() };
  }
  tlsFacts.set(conn, f);
  return f;
}

/** The DER session id inside OpenSSL's serialized SSL_SESSION (SEQUENCE {
 *  version, sslVersion, cipher, sessionID, ... }), as hex. */
function sessionIdHex(der: Buffer | undefined): string {
  if (der === undefined || der[0] !== 0x30) return '';
  let i = 1;
  const len = (): number => {
    const b = der[i++]!;
    if (b < 0x80) return b;
    let n = 0;
    for (let k = 0; k < (b & 0x7f); k++) n = n * 256 + der[i++]!;
    return n;
  };
  len();
  for (let field = 0; field < 4 && i < der.length; field++) {
    const tag = der[i++];
    const l = len();
    if (field === 3) return tag === 0x04 ? der.subarray(i, i + l).toString('hex') : '';
    i += l;
  }
  return '';
}

function fingerprint(cert: X509Certificate | undefined, alg: 'sha256' | 'sha1'): string {
  return cert === undefined ? '' : createHash(alg).update(cert.raw).digest('hex');
}

const TLS_VARIABLES: Readonly<Record<string, (f: TlsFacts) => string>> = {
  DOWNSTREAM_LOCAL_URI_SAN: (f) => (f.local ? sans(f.local, 'URI').join(',') : ''),
  DOWNSTREAM_PEER_URI_SAN: (f) => (f.peer ? sans(f.peer, 'URI').join(',') : ''),
  DOWNSTREAM_LOCAL_SUBJECT: (f) => (f.local ? rfc2253(f.local.subject) : ''),
  DOWNSTREAM_PEER_SUBJECT: (f) => (f.peer ? rfc2253(f.peer.subject) : ''),
  DOWNSTREAM_PEER_ISSUER: (f) => (f.peer ? rfc2253(f.peer.issuer) : ''),
  DOWNSTREAM_TLS_SESSION_ID: (f) => sessionIdHex(f.socket.getSession()),
  DOWNSTREAM_TLS_CIPHER: (f) => f.socket.getCipher()?.name ?? '',
  DOWNSTREAM_TLS_VERSION: (f) => f.socket.getProtocol() ?? '',
  DOWNSTREAM_PEER_FINGERPRINT_256: (f) => fingerprint(f.peer, 'sha256'),
  DOWNSTREAM_PEER_FINGERPRINT_1: (f) => fingerprint(f.peer, 'sha1'),
  DOWNSTREAM_PEER_SERIAL: (f) => (f.peer ? f.peer.serialNumber.toLowerCase() : ''),
  DOWNSTREAM_PEER_CERT: (f) => (f.peer ? encodeURIComponent(f.peer.toString()) : ''),
  DOWNSTREAM_PEER_CERT_V_START: (f) => (f.peer ? new Date(f.peer.validFrom).toISOString() : ''),
  DOWNSTREAM_PEER_CERT_V_END: (f) => (f.peer ? new Date(f.peer.validTo).toISOString() : ''),
};

function tlsVariable(name: string): ValueFn {
  const read = TLS_VARIABLES[name]!;
  return (c) => {
    const f = factsOf(c.conn);
    if (f === null) return '';
    let v = f.values.get(name);
    if (v === undefined) {
      try {
        v = read(f);
      } catch {
        v = '';
      }
      f.values.set(name, v);
    }
    return v;
  };
}

/** The variable `name` (without its % signs) for `phase`, or undefined
 *  when it is not one Contour passes through (it stays literal). */
export function variable(name: string, phase: Phase): ValueFn | undefined {
  switch (name) {
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      return (c) => hostPort(c.clientAddress, c.clientPort);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return (c) => c.clientAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return (c) => (c.conn.localAddress ? hostPort(c.conn.localAddress, c.conn.localPort ?? 0) : '');
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return (c) => c.conn.localAddress ?? '';
    case 'DOWNSTREAM_LOCAL_PORT':
      return (c) => (c.conn.localPort !== undefined ? String(c.conn.localPort) : '');
    case 'HOSTNAME':
      return () => HOSTNAME;
    case 'PROTOCOL':
      return (c) => c.protocol;
    case 'RESPONSE_FLAGS':
      return phase === 'request' ? () => '-' : (c) => c.flags;
    case 'RESPONSE_CODE_DETAILS':
      return phase === 'request' ? () => '' : (c) => c.codeDetails;
    case 'UPSTREAM_REMOTE_ADDRESS':
      // Not known when request headers are built: Envoy leaves it as written.
      return phase === 'request' ? undefined : (c) => c.upstreamAddress;
    case 'TLS_JA3_FINGERPRINT':
    case 'TLS_JA4_FINGERPRINT':
      // Contour's listener leaves fingerprinting off unless its config enables it.
      return () => '';
    default:
      return TLS_VARIABLES[name] !== undefined ? tlsVariable(name) : undefined;
  }
}

/** %REQ(name)%, %REQ(name?alternative)%, either with a :length cut
 *  (Contour's validReqEnvoyVar). */
export const REQ_VARIABLE = /^REQ\((:?[\w-]+)(?:\?(:?[\w-]+))?\)(?::(\d+))?$/;

export function requestHeaderVariable(m: RegExpExecArray): ValueFn {
  const main = m[1]!.toLowerCase();
  const alt = m[2]?.toLowerCase();
  const max = m[3] !== undefined ? Number(m[3]) : undefined;
  return (c) => {
    let v = c.header(main);
    if (v === undefined && alt !== undefined) v = c.header(alt);
    if (v === undefined) return '';
    return max !== undefined && v.length > max ? v.slice(0, max) : v;
  };
}
