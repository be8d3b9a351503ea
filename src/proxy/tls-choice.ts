// What the HTTPS listener does with a connection once the ClientHello's SNI
// is known: pass the raw bytes through, or terminate TLS with that virtual
// host's own settings (certificate, TLS versions, client validation). Each
// distinct setting becomes one tls.Server (never listening) per listener,
// so versions and client-certificate checks are exactly per virtual host.
import type { TlsOptions } from 'node:tls';
import { constants } from 'node:crypto';
import type { CaBundle, ForwardClientCertificate, ProxyConfig, SecureVirtualHost, TlsSecret, TlsVersion } from '../dag/index.ts';
import { DEFAULT_TLS_CIPHERS, opensslCipherList } from '../config/index.ts';
import { LeafCrlCheck } from './client-crl.ts';
import { HostTable } from './host.ts';
import { record, stillValid, type ClusterLookup, type Reusable, type Warn } from './reusable.ts';
import { compileTcp, type CompiledTcp } from './route-table.ts';

export interface TlsChoice {
  fqdn: string; // "" for the fallback certificate
  /** SecureVirtualHost.tlsGroup: the other hosts this session may ask for. */
  group?: string;
  passthrough?: CompiledTcp;
  /** Terminated TLS forwarded as a TCP stream. */
  tcpProxy?: CompiledTcp;
  /** Identity of serverOptions; equal keys share a tls.Server. */
  key: string;
  serverOptions: TlsOptions;
  /** Optional client certificates must still verify when presented. */
  verifyIfPresented: boolean;
  /** crlOnlyVerifyLeafCert: the handshake checks the chain against the CA
   *  only, this checks the leaf against the CRLs right after it. */
  leafCrl?: LeafCrlCheck;
  /** Requests on this virtual host carry X-Forwarded-Client-Cert. */
  forwardClientCertificate?: ForwardClientCertificate;
}

export interface TlsTable {
  byName: HostTable<TlsChoice>;
  fallback?: TlsChoice;
  /** Keys of every terminating choice, so listeners can drop stale servers. */
  keys: Set<string>;
}

const ALPN_HTTP = ['h2', 'http/1.1'];
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The config file's tls.* bounds for every virtual host of the TLS listeners. */
export interface ListenerTls {
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites stay OpenSSL's). */
  ciphers: string;
}

/** Contour's defaults: TLS 1.2-1.3 and its DefaultTLSCiphers. */
export const DEFAULT_LISTENER_TLS: ListenerTls = { minVersion: '1.2', maxVersion: '1.3', ciphers: opensslCipherList(DEFAULT_TLS_CIPHERS) };

function v(t: TlsVersion): 'TLSv1.2' | 'TLSv1.3' {
  return t === '1.3' ? 'TLSv1.3' : 'TLSv1.2';
}

interface TerminateInput {
  certPem: string;
  keyPem: string;
  min: TlsVersion;
  max: TlsVersion;
  ciphers: string;
  caPem?: string;
  crlPem?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  alpn: string[];
}

function terminate(i: TerminateInput, ticketKeys: Buffer | undefined): { key: string; serverOptions: TlsOptions } {
  const key = JSON.stringify(i);
  const serverOptions: TlsOptions = {
    cert: i.certPem,
    key: i.keyPem,
    minVersion: v(i.min),
    maxVersion: v(i.max),
    ciphers: i.ciphers,
    requestCert: i.requestCert,
    rejectUnauthorized: i.rejectUnauthorized,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    sessionIdContext: 'isobar',
    // A client may not renegotiate (a TLS 1.2 CPU-cost lever); Envoy
    // refuses it too.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    ...(i.alpn.length ? { ALPNProtocols: i.alpn } : {}),
    ...(i.caPem !== undefined ? { ca: i.caPem } : {}),
    ...(i.crlPem ? { crl: i.crlPem } : {}),
    ...(ticketKeys ? { ticketKeys } : {}),
  };
  return { key, serverOptions };
}

/** One virtual host's choice, from the config objects it was made of. */
function choose(
  vh: SecureVirtualHost,
  secret: TlsSecret | undefined,
  ca: CaBundle | undefined,
  clusters: ClusterLookup,
  ticketKeys: Buffer | undefined,
  bounds: ListenerTls,
  warn: Warn,
): TlsChoice | undefined {
  const fqdn = vh.fqdn.toLowerCase();
  if (vh.passthrough) {
    return { fqdn, passthrough: compileTcp(vh.passthrough, clusters), key: '', serverOptions: {}, verifyIfPresented: false };
  }
  if (!secret) {
    // An unusable vhost serves nothing; the others keep serving.
    warn(fqdn, vh.secretId ? `certificate secret ${vh.secretId} missing from config` : 'no certificate secret');
    return undefined;
  }
  const cv = vh.clientValidation;
  let caPem: string | undefined;
  let crlPem: string | undefined;
  if (cv && !cv.skipVerification) {
    if (!ca) {
      warn(fqdn, `client CA bundle ${cv.caBundleId ?? '(none)'} missing from config`);
      return undefined;
    }
    caPem = ca.caPem;
    crlPem = ca.crlPem;
  }
  let leafCrl: LeafCrlCheck | undefined;
  if (caPem !== undefined && crlPem !== undefined && cv?.crlOnlyVerifyLeafCert) {
    leafCrl = new LeafCrlCheck(caPem, crlPem);
    crlPem = undefined;
  }
  // As Contour: the higher of the two minimums, the lower of the maximums.
  const min = vh.minVersion > bounds.minVersion ? vh.minVersion : bounds.minVersion;
  const max = vh.maxVersion < bounds.maxVersion ? vh.maxVersion : bounds.maxVersion;
  if (min > max) {
    warn(fqdn, `its TLS versions (${vh.minVersion}-${vh.maxVersion}) and the config file's tls.*-protocol-version (${bounds.minVersion}-${bounds.maxVersion}) have none in common`);
    return undefined;
  }
  const t = terminate(
    {
      certPem: secret.certPem,
      keyPem: secret.keyPem,
      min,
      max,
      ciphers: bounds.ciphers,
      ...(caPem !== undefined ? { caPem } : {}),
      ...(crlPem !== undefined ? { crlPem } : {}),
      requestCert: cv !== undefined,
      rejectUnauthorized: cv !== undefined && !cv.skipVerification && !cv.optional,
      alpn: vh.tcpProxy ? [] : ALPN_HTTP,
    },
    ticketKeys,
  );
  return {
    fqdn,
    ...(vh.tlsGroup !== undefined ? { group: vh.tlsGroup } : {}),
    ...(vh.tcpProxy ? { tcpProxy: compileTcp(vh.tcpProxy, clusters) } : {}),
    ...t,
    verifyIfPresented: cv !== undefined && !cv.skipVerification && cv.optional,
    ...(leafCrl ? { leafCrl } : {}),
    ...(cv?.forwardClientCertificate ? { forwardClientCertificate: cv.forwardClientCertificate } : {}),
  };
}

interface KeptChoice extends Reusable<TlsChoice | undefined> {
  secret: TlsSecret | undefined;
  ca: CaBundle | undefined;
}

/** Builds TLS tables apply after apply, keeping each virtual host object's
 *  choice while its secret, CA bundle and clusters are the same objects (its
 *  key, a JSON text of PEMs, is then not made again). The tls.Servers, and so
 *  the SecureContexts, are kept by the listeners per key across applies. */
export class TlsTableBuilder {
  readonly #ticketKeys: Buffer | undefined;
  readonly #kept = new WeakMap<SecureVirtualHost, KeptChoice>();
  readonly #bounds: ListenerTls;
  #fallback: { secret: TlsSecret; choice: TlsChoice } | undefined;

  constructor(ticketKeys: Buffer | undefined, bounds: ListenerTls = DEFAULT_LISTENER_TLS) {
    this.#ticketKeys = ticketKeys;
    this.#bounds = bounds;
  }

  /** `listener`: the SNI table of that port listener (ProxyConfig.listeners),
   *  which has no fallback certificate; absent: the proxy's own HTTPS listener's. */
  build(config: ProxyConfig, clusters: ClusterLookup, warn: Warn, listener?: string): TlsTable {
    const secrets = new Map(config.secrets.map((s) => [s.id, s]));
    const cas = new Map(config.caBundles.map((c) => [c.id, c]));
    const byName = new HostTable<TlsChoice>();
    const keys = new Set<string>();
    for (const vh of config.httpsVirtualHosts) {
      if (vh.listener !== listener) continue;
      const terminates = !vh.passthrough;
      const secret = terminates && vh.secretId ? secrets.get(vh.secretId) : undefined;
      const cv = vh.clientValidation;
      const ca = terminates && cv && !cv.skipVerification && cv.caBundleId ? cas.get(cv.caBundleId) : undefined;
      let kept = this.#kept.get(vh);
      if (!(kept !== undefined && kept.secret === secret && kept.ca === ca && stillValid(kept, clusters, warn))) {
        kept = { ...record(clusters, warn, (cl, w) => choose(vh, secret, ca, cl, this.#ticketKeys, this.#bounds, w)), secret, ca };
        this.#kept.set(vh, kept);
      }
      const choice = kept.value;
      if (choice === undefined) continue;
      if (!choice.passthrough) keys.add(choice.key);
      byName.add(choice.fqdn, choice, vh.wildcardAnyDepth === true);
    }
    let fallback: TlsChoice | undefined;
    if (config.fallbackCertificateId && listener === undefined) {
      const s = secrets.get(config.fallbackCertificateId);
      if (s) {
        if (this.#fallback?.secret !== s) {
          const t = terminate(
            { certPem: s.certPem, keyPem: s.keyPem, min: this.#bounds.minVersion, max: this.#bounds.maxVersion, ciphers: this.#bounds.ciphers, requestCert: false, rejectUnauthorized: false, alpn: ALPN_HTTP },
            this.#ticketKeys,
          );
          this.#fallback = { secret: s, choice: { fqdn: '', ...t, verifyIfPresented: false } };
        }
        fallback = this.#fallback.choice;
        keys.add(fallback.key);
      } else warn('(fallback)', `fallback certificate ${config.fallbackCertificateId} missing from config`);
    }
    return fallback ? { byName, fallback, keys } : { byName, keys };
  }
}
