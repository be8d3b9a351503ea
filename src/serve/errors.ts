// Why `serve` could not start: a code callers branch on and one line the
// user can act on (the CLI prints it and exits 2). Whatever `serve` had
// started is stopped before one is thrown.

export type StartErrorCode =
  /** The manifests folder is missing, not a folder, or unreadable. */
  | 'MANIFEST_FOLDER'
  /** The certificate store cannot be opened. */
  | 'CERTIFICATE_STORE'
  /** A Service names a certificate the store does not hold. */
  | 'MISSING_CERTIFICATE'
  /** A port is in use, privileged, or cannot be bound for another reason. */
  | 'PORT'
  /** A worker process did not start. */
  | 'WORKERS'
  /** A load balancer listener did not start with the first config. */
  | 'LISTENER';

export class StartError extends Error {
  readonly code: StartErrorCode;
  constructor(code: StartErrorCode, message: string) {
    super(message);
    this.name = 'StartError';
    this.code = code;
  }
}
