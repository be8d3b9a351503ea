// The public description of a stored certificate, and what the balancer
// model needs of it.

import type { EdgeCertificate } from '../balancer/index.ts';

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
  type: 'local-ca' | 'imported';
  certPem: string;
  /** Issuer certificates from the one that signed certPem upwards; may be "". */
  chainPem: string;
  createdAt: string; // ISO 8601
  /** Last renewal (local-ca) or re-import (imported) under the same ARN. */
  updatedAt?: string;
}

export function toEdgeCertificate(r: CertificateRecord): EdgeCertificate {
  return { arn: r.arn, certPem: r.certPem, chainPem: r.chainPem, domains: [...r.domains], notAfter: r.notAfter };
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
