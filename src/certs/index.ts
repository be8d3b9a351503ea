// Certificate manager: an ACM-like store of edge certificates under ARNs,
// a local CA to issue them, and encrypted private keys.
export { CertificateStore, type OpenOptions, type RequestOptions, type ImportOptions, type StoreProblem } from './store.ts';
export { toEdgeCertificate, daysUntilExpiry, expiresSoon, EXPIRY_WARNING_DAYS, type CertificateRecord } from './record.ts';
export { CertsError, REFUSAL_CODES, type CertsErrorCode } from './errors.ts';
export { parseArn, newArn, DEFAULT_REGION, DEFAULT_ACCOUNT, type ArnParts } from './arn.ts';
export { LEAF_VALIDITY_DAYS } from './local-ca.ts';
export { defaultStateDir } from './state-dir.ts';
