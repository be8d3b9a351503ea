// Where the certificate store lives when --state-dir is not given.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultStateDir(): string {
  const env = process.env.ISOBAR_STATE_DIR;
  return env !== undefined && env !== '' ? env : join(homedir(), '.isobar');
}
