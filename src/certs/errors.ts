// Errors the certificate store raises. `code` tells callers (the CLI maps it
// to an exit code) whether the request was refused or the input/state is bad.

export type CertsErrorCode =
  | 'BAD_ARN' // malformed ARN
  | 'BAD_INPUT' // unreadable or malformed certificate/key/domain input
  | 'NOT_FOUND' // no certificate under that ARN
  | 'EXISTS' // ARN (or its id) already taken
  | 'IN_USE' // delete refused: listeners use it
  | 'KEY_MISMATCH' // private key is not the certificate's
  | 'EXPIRED' // certificate (or chain member) expired
  | 'CHAIN_INVALID' // chain does not verify
  | 'NOT_RENEWABLE' // renew of an imported certificate
  | 'CORRUPT' // a state file is unreadable, malformed or tampered with
  | 'LOCKED' // another writer holds the store
  | 'INSECURE' // a key file others can read
  | 'READ_ONLY'; // write through a read-only store

export class CertsError extends Error {
  readonly code: CertsErrorCode;
  constructor(code: CertsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertsError';
    this.code = code;
  }
}

/** Refusals: the input was understood but the store says no. */
export const REFUSAL_CODES: ReadonlySet<CertsErrorCode> = new Set(['NOT_FOUND', 'EXISTS', 'IN_USE', 'KEY_MISMATCH', 'EXPIRED', 'CHAIN_INVALID', 'NOT_RENEWABLE']);
