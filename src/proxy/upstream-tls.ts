// Connectors for upstream pools. TLS clusters get their own connector so
// validation is exactly what the config asks for: trust only the CA bundle,
// require a DNS SAN equal to one of the subject names (no CN fallback), send
// the configured SNI or none; a failed check fails the connection, never
// falls back to an unverified one.
import net from 'node:net';
import tls from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import type { UpstreamTls } from '../dag/index.ts';

export interface ResolvedUpstreamTls {
  tls: UpstreamTls;
  caPem?: string; // present iff validation is requested
  clientCertPem?: string;
  clientKeyPem?: string;
  alpn: string[]; // ['h2'] for h2, [] for tls (no ALPN)
}

/** Why an upstream connection could not be used; drives the 503 body and
 *  the access log response flag. */
export class UpstreamConnectError extends Error {
  readonly kind: 'tls' | 'connect' | 'timeout';
  /** Short reason, e.g. CERTIFICATE_VERIFY_FAILED: CERT_HAS_EXPIRED. */
  readonly detail: string;
  readonly code = 'ISOBAR_UPSTREAM_CONNECT';
  constructor(kind: 'tls' | 'connect' | 'timeout', detail: string, cause?: unknown) {
    super(`upstream ${kind} failure: ${detail}`, { cause });
    this.name = 'UpstreamConnectError';
    this.kind = kind;
    this.detail = detail;
  }
}

type ConnectCallback = (err: Error | null, socket: net.Socket | null) => void;
interface ConnectOptions {
  hostname: string;
  port: string | number;
  protocol: string;
}
export type Connector = (opts: ConnectOptions, cb: ConnectCallback) => void;

/** What a cluster sets on its upstream sockets: name resolution
 *  (cluster.dns-lookup-family) and the buffers' soft limit
 *  (cluster.per-connection-buffer-limit-bytes). */
export interface SocketOptions {
  lookup?: net.LookupFunction;
  highWaterMark?: number;
}

const VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_REVOKED',
  'INVALID_PURPOSE',
  'SUBJECT_NAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function stripBrackets(h: string): string {
  return h.charCodeAt(0) === 91 ? h.slice(1, -1) : h;
}

/** DNS SAN matching as Envoy's exact SAN matcher does for DNS names: a
 *  certificate wildcard covers exactly one left-most label. */
export function dnsSanMatches(sans: string[], subjectNames: string[]): boolean {
  for (const want of subjectNames) {
    const w = want.toLowerCase();
    for (const san of sans) {
      const s = san.toLowerCase();
      if (s === w) return true;
      if (s.startsWith('*.')) {
        const dot = w.indexOf('.');
        if (dot > 0 && w.slice(dot) === s.slice(1)) return true;
      }
    }
  }
  return false;
}

export function dnsSans(cert: PeerCertificate): string[] {
  return sansOf(cert, 'DNS:');
}

/** The certificate's SANs of one type. node writes subjectaltname as
 *  "DNS:a, URI:b", quoting (JSON) an entry that holds a comma or quote. */
function sansOf(cert: PeerCertificate, prefix: 'DNS:' | 'URI:'): string[] {
  const out: string[] = [];
  const alt = cert.subjectaltname;
  if (!alt) return out;
  for (const part of alt.split(', ')) {
    if (part.startsWith(prefix)) {
      const v = part.slice(prefix.length);
      out.push(v.startsWith('"') ? safeJson(v) : v);
    }
  }
  return out;
}

function safeJson(v: string): string {
  try {
    return String(JSON.parse(v));
  } catch {
    return v;
  }
}

export function tlsConnector(cfg: ResolvedUpstreamTls, connectTimeoutMs: number, socketOptions: SocketOptions = {}): Connector {
  const t = cfg.tls;
  const validation = t.validation;
  const secureContext = tls.createSecureContext({
    ...(cfg.caPem !== undefined ? { ca: cfg.caPem } : {}),
    ...(cfg.clientCertPem !== undefined ? { cert: cfg.clientCertPem, key: cfg.clientKeyPem } : {}),
    minVersion: t.minVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
    maxVersion: t.maxVersion === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
  });
  let session: Buffer | undefined;
  const checkServerIdentity = validation
    ? (_host: string, cert: PeerCertificate): Error | undefined => {
        const sans = dnsSans(cert);
        if (dnsSanMatches(sans, validation.subjectNames)) return undefined;
        // URI SANs match exactly (Envoy's exact SAN matcher).
        const uris = validation.uriSubjectNames;
        if (uris !== undefined && sansOf(cert, 'URI:').some((u) => uris.includes(u))) return undefined;
        const err = new Error(
          uris === undefined
            ? `certificate DNS SANs [${sans.join(', ')}] match none of the subject names [${validation.subjectNames.join(', ')}]`
            : `certificate SANs [${[...sans, ...sansOf(cert, 'URI:').map((u) => `URI:${u}`)].join(', ')}] match none of the subject names [${[...validation.subjectNames, ...uris.map((u) => `URI:${u}`)].join(', ')}]`,
        ) as Error & { code: string };
        err.code = 'SUBJECT_NAME_MISMATCH';
        return err;
      }
    : () => undefined;
  return (opts, cb) => {
    const host = stripBrackets(opts.hostname);
    const socket = tls.connect({
      ...socketOptions,
      host,
      port: Number(opts.port),
      secureContext,
      // No SNI unless configured: an IP host never yields one, and a name
      // host would, so pass the configured one explicitly.
      ...(t.sni ? { servername: t.sni } : {}),
      rejectUnauthorized: validation !== undefined,
      checkServerIdentity,
      ...(cfg.alpn.length ? { ALPNProtocols: cfg.alpn } : {}),
      ...(session ? { session } : {}),
    });
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    settle(socket, 'secureConnect', connectTimeoutMs, cb, () =>
      cfg.alpn.length && socket.alpnProtocol !== cfg.alpn[0] ? new UpstreamConnectError('tls', `ALPN: backend did not select ${cfg.alpn[0]}`) : undefined,
    );
  };
}

export function plainConnector(connectTimeoutMs: number, h2c = false, socketOptions: SocketOptions = {}): Connector {
  return (opts, cb) => {
    const socket = net.connect({ ...socketOptions, host: stripBrackets(opts.hostname), port: Number(opts.port) });
    // HTTP/2 with prior knowledge: undici picks its h2 client from this.
    if (h2c) (socket as net.Socket & { alpnProtocol?: string }).alpnProtocol = 'h2';
    settle(socket, 'connect', connectTimeoutMs, cb);
  };
}

/** What every connector shares: a connect deadline, errors mapped to
 *  UpstreamConnectError, and one callback: the socket once `ready` fires and
 *  `check` finds nothing wrong, otherwise the error (socket destroyed). */
function settle<S extends net.Socket>(
  socket: S,
  ready: 'connect' | 'secureConnect',
  connectTimeoutMs: number,
  cb: Parameters<Connector>[1],
  check?: () => Error | undefined,
): void {
  let done = false;
  const fail = (err: Error): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    cb(err, null);
  };
  const timer = setTimeout(() => fail(new UpstreamConnectError('timeout', `connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs);
  const onError = (err: Error & { code?: string }): void => fail(classify(err));
  socket.on('error', onError);
  socket.once(ready, () => {
    if (done) return;
    const wrong = check?.();
    if (wrong) return fail(wrong);
    done = true;
    clearTimeout(timer);
    socket.off('error', onError);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    cb(null, socket);
  });
}

export function classify(err: Error & { code?: string }): UpstreamConnectError {
  const code = err.code ?? '';
  // OpenSSL messages can end in a newline; keep response bodies one line.
  const message = err.message.trim().replace(/\s*\n\s*/g, ' ');
  if (VERIFY_CODES.has(code)) {
    return new UpstreamConnectError('tls', `CERTIFICATE_VERIFY_FAILED: ${code}: ${message}`, err);
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS/.test(message)) {
    return new UpstreamConnectError('tls', `${code || 'TLS_ERROR'}: ${message}`, err);
  }
  return new UpstreamConnectError('connect', `${code || 'ERROR'}: ${message}`, err);
}
