// New private keys for ACME accounts and certificates (PKCS#8 PEM). A
// renewal always gets a new key: it never extends the life of one.

import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { AcmeKeyType } from './acme-settings.ts';

const generate = promisify(generateKeyPair);

export async function newPrivateKeyPem(type: AcmeKeyType): Promise<string> {
  const enc = { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } } as const;
  switch (type) {
    case 'ec256':
      return (await generate('ec', { namedCurve: 'prime256v1', ...enc })).privateKey;
    case 'ec384':
      return (await generate('ec', { namedCurve: 'secp384r1', ...enc })).privateKey;
    case 'rsa2048':
      return (await generate('rsa', { modulusLength: 2048, ...enc })).privateKey;
    case 'rsa4096':
      return (await generate('rsa', { modulusLength: 4096, ...enc })).privateKey;
  }
}
