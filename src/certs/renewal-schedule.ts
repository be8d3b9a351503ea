// When managed renewal is due, as ACM renews: an issued certificate from
// ACME or the local CA is renewed when a third of its lifetime is left, or
// at the time the CA suggested through ACME Renewal Information (RFC 9773);
// a failed attempt is retried with exponential backoff (bounded), never
// sooner than the CA's Retry-After. Pure: the time is an argument.

import { statusOf, type CertificateRecord } from './record.ts';

export const RENEW_REMAINING_FRACTION = 1 / 3;

export interface Backoff {
  /** First retry after this long; doubled per failure. */
  baseMs: number;
  /** Never longer than this between attempts. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 60_000, maxMs: 6 * 3_600_000 };

/** Whether `serve` renews this certificate itself. */
export function isManaged(r: CertificateRecord): boolean {
  return (r.type === 'acme' || r.type === 'local-ca') && statusOf(r) === 'ISSUED' && r.certPem !== '';
}

/** When the certificate is due for renewal (ms since the epoch), or undefined if never. */
export function renewalDueAt(r: CertificateRecord): number | undefined {
  if (!isManaged(r)) return undefined;
  if (r.renewal?.status === 'FAILED' && r.renewal.nextAttemptAt) return Date.parse(r.renewal.nextAttemptAt);
  if (r.renewAt) {
    const at = Date.parse(r.renewAt);
    if (Number.isFinite(at)) return at;
  }
  const start = Date.parse(r.notBefore);
  const end = Date.parse(r.notAfter);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  return end - (end - start) * RENEW_REMAINING_FRACTION;
}

/** The wait after the n-th failure in a row (n >= 1). */
export function backoffMs(failures: number, b: Backoff = DEFAULT_BACKOFF, retryAfterMs?: number): number {
  const exp = b.baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  const wait = Math.min(exp, b.maxMs);
  return retryAfterMs !== undefined ? Math.max(wait, Math.min(retryAfterMs, 7 * 86_400_000)) : wait;
}
