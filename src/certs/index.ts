// Certificate manager: an ACM-like store of edge certificates under ARNs,
// a local CA to issue them, and encrypted private keys.
export { CertificateStore, type OpenOptions, type RequestOptions, type ImportOptions, type StoreProblem, type AcmeRequestOptions } from './store.ts';
export { toEdgeCertificate, daysUntilExpiry, expiresSoon, statusOf, hasCertificate, EXPIRY_WARNING_DAYS, type CertificateRecord, type CertificateStatus, type RenewalSummary } from './record.ts';
export { CertsError, REFUSAL_CODES, type CertsErrorCode } from './errors.ts';
export { parseArn, newArn, DEFAULT_REGION, DEFAULT_ACCOUNT, type ArnParts } from './arn.ts';
export { LEAF_VALIDITY_DAYS } from './local-ca.ts';
export { defaultStateDir } from './state-dir.ts';
export { acmeSettingsFrom, checkWildcards, KNOWN_DIRECTORIES, KEY_TYPES, CHALLENGE_TYPES, type AcmeSettings, type AcmeInputs } from './acme-settings.ts';
export { AcmeFailure, type ChallengeResponder, type Dns01Publisher, type IssueOptions } from './acme-issue.ts';
export { attemptIssue, type AttemptOptions, type AttemptResult } from './acme-attempt.ts';
export { ChallengeServer, type ChallengeServerOptions } from './challenge-server.ts';
export { renewalDueAt, isManaged, backoffMs, DEFAULT_BACKOFF, RENEW_REMAINING_FRACTION, type Backoff } from './renewal-schedule.ts';
export { FAILURE_REASONS, problemLine, type FailureReason } from './acme-problem.ts';
export { readCaBundle } from './ca-bundle.ts';
export { Rfc2136Publisher, rfc2136From, type Rfc2136Settings } from './dns01-rfc2136.ts';
export { DnsUpdateError } from './dns-update.ts';
