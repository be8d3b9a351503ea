// acme.caBundle / --ca-bundle: the PEM CA certificates a private ACME
// server's own TLS chains to (step-ca, a company CA, Pebble), read once
// per use so a replaced file is picked up.

import { readFile } from 'node:fs/promises';
import { CertsError } from './errors.ts';

export async function readCaBundle(file: string | undefined, where: string): Promise<string | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CertsError('BAD_INPUT', `${where} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new CertsError('BAD_INPUT', `${where} ${file} holds no PEM certificate`);
  return text;
}
