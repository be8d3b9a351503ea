// Expiry and names of the certificates the page lists: the load balancers'
// edge certificates carry them already; a virtual host's certificate Secret
// is read once per Secret object (builds keep unchanged Secrets as the same
// objects, so a page refresh parses nothing new).
import { X509Certificate } from 'node:crypto';
import type { TlsSecret } from '../dag/index.ts';

export interface CertificateInfo {
  /** The leaf's DNS names (its subject CN when it has none). */
  domains: string[];
  notAfter: string; // ISO 8601
}

const DAY_MS = 86_400_000;
/** ACM's DaysToExpiry alarm threshold, and `certs describe`'s warning. */
export const EXPIRY_WARNING_DAYS = 30;

const parsed = new WeakMap<TlsSecret, CertificateInfo | null>();

/** The leaf of a Secret's chain; null when it does not parse. */
export function secretCertificate(secret: TlsSecret): CertificateInfo | null {
  let info = parsed.get(secret);
  if (info !== undefined) return info;
  try {
    const leaf = new X509Certificate(secret.certPem);
    const dns = (leaf.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4));
    const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1];
    info = { domains: dns.length > 0 ? dns : cn ? [cn] : [], notAfter: new Date(leaf.validTo).toISOString() };
  } catch {
    info = null;
  }
  parsed.set(secret, info);
  return info;
}

/** Whole days from `now` to notAfter, rounded down (negative once expired). */
export function daysToExpiry(notAfter: string, now: number): number {
  return Math.floor((Date.parse(notAfter) - now) / DAY_MS);
}
