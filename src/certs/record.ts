// The public description of a stored certificate, and what the balancer
// model needs of it.

import type { EdgeCertificate } from '../balancer/index.ts';
import type { FailureReason } from './acme-problem.ts';
import type { AcmeSettings } from './acme-settings.ts';

/** ACM's CertificateStatus values isobar uses. */
export type CertificateStatus = 'PENDING_VALIDATION' | 'ISSUED' | 'FAILED';

/** ACM's RenewalSummary: how managed renewal of an issued certificate goes. */
export interface RenewalSummary {
  status: 'PENDING_AUTO_RENEWAL' | 'SUCCESS' | 'FAILED';
  /** The last failure's reason and one-line detail. */
  reason?: FailureReason;
  detail?: string;
  /** Failed attempts in a row (reset by a success). */
  attempts: number;
  /** When the next attempt is due (ISO 8601), after backoff or Retry-After. */
  nextAttemptAt?: string;
  updatedAt: string;
}

export interface CertificateRecord {
  arn: string;
  /** DNS names covered (CN + SANs, wildcards kept), lower case. */
  domains: string[];
  subject: string;
  issuer: string;
  notBefore: string; // ISO 8601
  notAfter: string; // ISO 8601
  /** SHA-256 of the DER certificate, colon-separated upper-case hex. */
  fingerprint: string;
  type: 'local-ca' | 'imported' | 'acme';
  /** Absent on certificates that never went through ACME: ISSUED. */
  status?: CertificateStatus;
  /** FAILED: ACM's FailureReason and the CA's words, on one line. */
  failureReason?: FailureReason;
  failureDetail?: string;
  /** How an ACME certificate was requested (and is renewed). */
  acme?: AcmeSettings;
  renewal?: RenewalSummary;
  /** ACME Renewal Information (RFC 9773): when the CA wants it renewed. */
  renewAt?: string;
  /** PENDING_VALIDATION and FAILED records have no certificate: "". */
  certPem: string;
  /** Issuer certificates from the one that signed certPem upwards; may be "". */
  chainPem: string;
  createdAt: string; // ISO 8601
  /** Last renewal (local-ca) or re-import (imported) under the same ARN. */
  updatedAt?: string;
}

export function toEdgeCertificate(r: CertificateRecord): EdgeCertificate {
  const e: EdgeCertificate = { arn: r.arn, certPem: r.certPem, chainPem: r.chainPem, domains: [...r.domains], notAfter: r.notAfter };
  if (r.certPem === '') {
    e.unissued = r.status === 'FAILED' ? { status: 'FAILED', reason: `${r.failureReason ?? 'OTHER'}: ${r.failureDetail ?? 'the request failed'}` } : { status: 'PENDING_VALIDATION' };
  }
  return e;
}

export function statusOf(r: Pick<CertificateRecord, 'status'>): CertificateStatus {
  return r.status ?? 'ISSUED';
}

/** A certificate to serve: issued (renewals keep serving the one they replace). */
export function hasCertificate(r: Pick<CertificateRecord, 'certPem'>): boolean {
  return r.certPem !== '';
}

export const EXPIRY_WARNING_DAYS = 30;

/** Days left until notAfter (negative once expired), rounded down. */
export function daysUntilExpiry(r: Pick<CertificateRecord, 'notAfter'>, now: Date = new Date()): number {
  return Math.floor((Date.parse(r.notAfter) - now.getTime()) / 86_400_000);
}

/** True when the certificate expires within 30 days (or already has). */
export function expiresSoon(r: Pick<CertificateRecord, 'notAfter'>, now: Date = new Date(), days = EXPIRY_WARNING_DAYS): boolean {
  return Date.parse(r.notAfter) - now.getTime() < days * 86_400_000;
}
