// The local certificate authority behind `certs request`: a self-signed
// ECDSA P-256 root, created on first use, that issues leaf certificates the
// way ACM does (serverAuth + clientAuth, DNS SANs, 395 days).

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
export const LEAF_VALIDITY_DAYS = 395;
export const CA_VALIDITY_DAYS = 3650;
/** Back-dated a little so clients with a slightly slow clock accept it. */
const BACKDATE_MS = 5 * 60_000;

export interface KeyedCertificate {
  certPem: string;
  keyPem: string;
}

function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f; // positive
  b[0]! |= 0x01; // no leading zero byte
  return b.toString('hex');
}

function newKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function importKeys(keyPem: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  const der = Buffer.from(keyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const privateKey = (await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign'])) as unknown as CryptoKey;
  // The public half, through JWK (drop the private scalar).
  const jwk = await webcrypto.subtle.exportKey('jwk', privateKey as unknown as webcrypto.CryptoKey);
  delete jwk.d;
  jwk.key_ops = ['verify'];
  const publicKey = (await webcrypto.subtle.importKey('jwk', jwk, ALG, true, ['verify'])) as unknown as CryptoKey;
  return { privateKey, publicKey };
}

function pem(cert: x509.X509Certificate): string {
  return cert.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

export async function createLocalCa(label: string, now: Date): Promise<KeyedCertificate> {
  const keyPem = newKeyPem();
  const keys = await importKeys(keyPem);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=isobar local CA ${label}, O=isobar`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pem(cert), keyPem };
}

/** Issues a leaf for `domains` (first = subject CN) with a fresh key. */
export async function issueLeaf(ca: KeyedCertificate, domains: string[], now: Date): Promise<KeyedCertificate> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKeys = await importKeys(ca.keyPem);
  const keyPem = newKeyPem();
  const leafKeys = await importKeys(keyPem);
  const notAfter = Math.min(now.getTime() + LEAF_VALIDITY_DAYS * DAY, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: new x509.Name([{ CN: [domains[0]!] }]),
    issuer: caCert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: ALG,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(domains.map((value) => ({ type: 'dns' as const, value }))),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: pem(cert), keyPem };
}
