// Shared by the certificate tests: temporary state dirs and error matchers.
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CertsError, type CertsErrorCode } from '../../src/certs/index.ts';

export async function tempStateDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'isobar-certs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'state');
}

export function certsError(code: CertsErrorCode, includes?: string | RegExp) {
  return (err: unknown): boolean => {
    if (!(err instanceof CertsError)) throw err;
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    if (typeof includes === 'string' && !err.message.includes(includes)) throw new Error(`message lacks ${includes}: ${err.message}`);
    if (includes instanceof RegExp && !includes.test(err.message)) throw new Error(`message does not match ${includes}: ${err.message}`);
    return true;
  };
}

/** Every file under `dir`, recursively (relative paths). */
export async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}
