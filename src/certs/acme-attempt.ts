// One attempt to issue or renew a certificate, and its outcome written to
// the record: a first issuance ends ISSUED or FAILED (with ACM's reason and
// the CA's words; it is not retried by itself: a new request is); a renewal
// keeps the certificate it replaces serving and records ACM's
// RenewalSummary, with the next attempt after exponential backoff (never
// sooner than the CA's Retry-After). Local-CA certificates renew here too.

import { AcmeFailure, issueAcme, type IssueOptions } from './acme-issue.ts';
import { oneLine } from './acme-problem.ts';
import { ariCertId, chooseRenewalTime, fetchRenewalWindow } from './ari.ts';
import { backoffMs, DEFAULT_BACKOFF, type Backoff } from './renewal-schedule.ts';
import type { CertificateRecord } from './record.ts';
import type { CertificateStore } from './store.ts';

export interface AttemptOptions extends IssueOptions {
  backoff?: Backoff;
}

export type AttemptResult = { ok: true; record: CertificateRecord } | { ok: false; record: CertificateRecord; failure: AcmeFailure };

export async function attemptIssue(store: CertificateStore, arn: string, o: AttemptOptions): Promise<AttemptResult> {
  const before = await store.get(arn);
  if (!before) throw new AcmeFailure('OTHER', `no certificate ${arn} in the store`);
  const renewing = before.certPem !== '';
  const log = o.log ?? (() => {});
  try {
    let record: CertificateRecord;
    if (before.type === 'local-ca') record = await store.renew(arn);
    else {
      // Name the certificate replaced only to a CA that offers ARI (others may refuse the field).
      const replaces = renewing && before.renewAt ? safe(() => ariCertId(before.certPem)) : undefined;
      record = await issueAcme(store, arn, { ...o, ...(replaces ? { replaces } : {}) });
    }
    const renewAt = record.type === 'acme' && record.acme ? await askRenewalTime(record, o, log) : undefined;
    record = await store.updateRecord(arn, (r) => {
      delete r.renewAt;
      if (renewAt !== undefined) r.renewAt = new Date(renewAt).toISOString();
      if (renewing) r.renewal = { status: 'SUCCESS', attempts: 0, updatedAt: new Date().toISOString() };
      return r;
    });
    return { ok: true, record };
  } catch (err) {
    const failure = err instanceof AcmeFailure ? err : new AcmeFailure('OTHER', (err as Error).message, { cause: err });
    const now = Date.now();
    const record = await store.updateRecord(arn, (r) => {
      if (!renewing) {
        r.status = 'FAILED';
        r.failureReason = failure.reason;
        r.failureDetail = oneLine(failure.message);
        return r;
      }
      const attempts = (r.renewal?.status === 'FAILED' ? r.renewal.attempts : 0) + 1;
      r.renewal = {
        status: 'FAILED',
        reason: failure.reason,
        detail: oneLine(failure.message),
        attempts,
        nextAttemptAt: new Date(now + backoffMs(attempts, o.backoff ?? DEFAULT_BACKOFF, failure.retryAfterMs)).toISOString(),
        updatedAt: new Date(now).toISOString(),
      };
      return r;
    });
    return { ok: false, record, failure };
  }
}

/** RFC 9773: when the CA wants this certificate renewed, if it says. */
async function askRenewalTime(r: CertificateRecord, o: AttemptOptions, log: NonNullable<IssueOptions['log']>): Promise<number | undefined> {
  try {
    const w = await fetchRenewalWindow(r.acme!.directory, r.certPem, o.caBundle);
    return w ? chooseRenewalTime(w, Date.now()) : undefined;
  } catch (err) {
    log('renewal information unavailable; renewing when a third of the lifetime is left', { arn: r.arn, err: oneLine((err as Error).message) });
    return undefined;
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
