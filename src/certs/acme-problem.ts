// ACME problem documents (RFC 8555 section 6.7, RFC 7807) turned into one
// clear line and into ACM's FailureReason vocabulary, so `certs describe`
// reads like ACM's DescribeCertificate after a failed request.

export const FAILURE_REASONS = [
  'NO_AVAILABLE_CONTACTS',
  'ADDITIONAL_VERIFICATION_REQUIRED',
  'DOMAIN_NOT_ALLOWED',
  'INVALID_PUBLIC_DOMAIN',
  'DOMAIN_VALIDATION_DENIED',
  'CAA_ERROR',
  'OTHER',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface AcmeProblem {
  type?: string;
  detail?: string;
  status?: number;
  subproblems?: { type?: string; detail?: string; identifier?: { value?: string } }[];
}

const PREFIX = 'urn:ietf:params:acme:error:';

const REASONS: Record<string, FailureReason> = {
  caa: 'CAA_ERROR',
  rejectedIdentifier: 'DOMAIN_NOT_ALLOWED',
  unsupportedIdentifier: 'DOMAIN_NOT_ALLOWED',
  malformed: 'OTHER',
  invalidContact: 'NO_AVAILABLE_CONTACTS',
  unsupportedContact: 'NO_AVAILABLE_CONTACTS',
  externalAccountRequired: 'ADDITIONAL_VERIFICATION_REQUIRED',
  userActionRequired: 'ADDITIONAL_VERIFICATION_REQUIRED',
  // The CA could not confirm control of the name.
  unauthorized: 'DOMAIN_VALIDATION_DENIED',
  connection: 'DOMAIN_VALIDATION_DENIED',
  dns: 'DOMAIN_VALIDATION_DENIED',
  incorrectResponse: 'DOMAIN_VALIDATION_DENIED',
  tls: 'DOMAIN_VALIDATION_DENIED',
};

/** The short name of an ACME error type ("connection"), or undefined for another namespace. */
export function problemName(type: string | undefined): string | undefined {
  return type?.startsWith(PREFIX) ? type.slice(PREFIX.length) : undefined;
}

export function failureReason(p: AcmeProblem | undefined): FailureReason {
  // A compound problem's reason is its first subproblem's.
  for (const name of [problemName(p?.type), ...(p?.subproblems ?? []).map((x) => problemName(x.type))]) {
    if (name !== undefined && Object.hasOwn(REASONS, name)) return REASONS[name]!;
  }
  return 'OTHER';
}

/** "acme error connection: 127.0.0.1: Fetching http://...: connection refused" on one line. */
export function problemLine(p: AcmeProblem): string {
  const name = problemName(p.type);
  const head = name ? `acme error ${name}` : p.type ? `problem ${p.type}` : 'acme problem';
  const parts = [p.detail?.trim()].filter((x): x is string => !!x);
  for (const s of p.subproblems ?? []) {
    const sn = problemName(s.type) ?? s.type ?? '';
    parts.push(`${s.identifier?.value ? `${s.identifier.value}: ` : ''}${sn}${s.detail ? ` (${s.detail.trim()})` : ''}`);
  }
  return oneLine(parts.length > 0 ? `${head}: ${parts.join('; ')}` : head);
}

/** Problem documents are untrusted input: shape-checked, never thrown as is. */
export function asProblem(value: unknown): AcmeProblem | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  const p: AcmeProblem = {};
  if (typeof o.type === 'string') p.type = o.type;
  if (typeof o.detail === 'string') p.detail = o.detail;
  if (typeof o.status === 'number') p.status = o.status;
  if (Array.isArray(o.subproblems)) {
    p.subproblems = o.subproblems
      .filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null)
      .map((s) => ({
        type: typeof s.type === 'string' ? s.type : undefined,
        detail: typeof s.detail === 'string' ? s.detail : undefined,
        identifier: typeof s.identifier === 'object' && s.identifier !== null && typeof (s.identifier as Record<string, unknown>).value === 'string' ? { value: (s.identifier as { value: string }).value } : undefined,
      }));
  }
  return p.type === undefined && p.detail === undefined ? undefined : p;
}

/** Control characters and newlines out, length bounded: it goes to logs and status. */
export function oneLine(s: string, max = 500): string {
  const flat = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
