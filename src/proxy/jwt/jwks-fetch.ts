// One JWKS fetch, as Envoy's remote JWKS fetcher makes it: GET the URI over
// http or https, a 200 with a non-empty body or nothing, the timeout
// covering the whole exchange. TLS is verified only when the provider asks
// (CA bundle + subject names), as Contour documents; then a certificate
// that does not chain or names another host fails the fetch.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { lookupFor } from '../dns-family.ts';
import type { RemoteJwksSpec } from './types.ts';

/** A JWKS larger than this is refused rather than buffered. */
export const MAX_JWKS_BYTES = 1024 * 1024;

export type FetchFailure = 'timeout' | 'connect' | 'tls' | 'status' | 'empty' | 'too-large';

export class JwksFetchError extends Error {
  readonly code = 'ISOBAR_JWKS_FETCH';
  readonly reason: FetchFailure;
  constructor(reason: FetchFailure, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'JwksFetchError';
    this.reason = reason;
  }
}

function dnsSans(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter((p) => p.startsWith('DNS:'))
    .map((p) => p.slice(4).toLowerCase());
}

/** Envoy's exact DNS SAN match: a certificate wildcard covers one left-most label. */
export function sanMatches(sans: string[], subjectNames: string[]): boolean {
  return subjectNames.some((want) => {
    const w = want.toLowerCase();
    const dot = w.indexOf('.');
    return sans.some((s) => s === w || (s.startsWith('*.') && dot > 0 && w.slice(dot) === s.slice(1)));
  });
}

const TLS_CODES = /^(ERR_TLS|ERR_SSL|UNABLE_TO|CERT_|DEPTH_ZERO|SELF_SIGNED|SUBJECT_NAME_MISMATCH|INVALID_CA|HOSTNAME_MISMATCH)/;

export function fetchJwks(spec: RemoteJwksSpec): Promise<string> {
  let url: URL;
  try {
    url = new URL(spec.uri);
  } catch (e) {
    return Promise.reject(new JwksFetchError('connect', `unusable JWKS URI ${JSON.stringify(spec.uri)}`, e));
  }
  const secure = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const v = spec.validation;
  // An empty bundle would let Node fall back to its default roots.
  if (v && v.caPem.trim() === '') return Promise.reject(new JwksFetchError('tls', 'no CA bundle to verify the JWKS server with'));
  const options: https.RequestOptions = {
    method: 'GET',
    host,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers: { host: url.host },
    agent: false,
    lookup: lookupFor(spec.dnsLookupFamily),
  };
  if (secure) {
    Object.assign(options, {
      // SNI names the host, as Contour's JWKS cluster does; never an IP.
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
      minVersion: spec.minTlsVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
      maxVersion: spec.maxTlsVersion === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
      rejectUnauthorized: v !== undefined,
      ...(v ? { ca: v.caPem } : {}),
      checkServerIdentity: (_h: string, cert: PeerCertificate) => {
        if (!v || sanMatches(dnsSans(cert), v.subjectNames)) return undefined;
        return Object.assign(new Error(`certificate DNS SANs [${dnsSans(cert).join(', ')}] match none of [${v.subjectNames.join(', ')}]`), {
          code: 'SUBJECT_NAME_MISMATCH',
        });
      },
    });
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: JwksFetchError | null, body?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(body!);
    };
    const req = (secure ? https : http).request(options, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(new JwksFetchError('status', `JWKS server answered ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_JWKS_BYTES) finish(new JwksFetchError('too-large', `JWKS larger than ${MAX_JWKS_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        finish(body.length === 0 ? new JwksFetchError('empty', 'JWKS server sent an empty body') : null, body);
      });
      res.on('error', (e) => finish(new JwksFetchError('connect', e.message, e)));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const tls = TLS_CODES.test(e.code ?? '') || /SSL|TLS|certificate/i.test(e.message);
      finish(new JwksFetchError(tls ? 'tls' : 'connect', `${e.code ?? 'ERROR'}: ${e.message}`, e));
    });
    timer = setTimeout(() => finish(new JwksFetchError('timeout', `no JWKS within ${spec.timeoutMs} ms`)), spec.timeoutMs);
    req.end();
  });
}
