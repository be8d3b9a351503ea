// Reading certificates and keys the user brings: PEM splitting, the facts a
// record keeps (names, validity, fingerprint), key/certificate matching and
// chain verification. Error messages never include key material.

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { CertsError } from './errors.ts';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

export interface CertificateFacts {
  domains: string[];
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  fingerprint: string;
}

/** Every certificate PEM block in `text`, in order. */
export function splitCertificates(text: string, where: string): string[] {
  const blocks = (text.match(CERT_BLOCK) ?? []).map((b) => b.replace(/\r\n/g, '\n') + '\n');
  if (blocks.length === 0) {
    const hint = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? ' (it holds a private key: pass that file with --key)' : '';
    throw new CertsError('BAD_INPUT', `${where} contains no PEM certificate ("-----BEGIN CERTIFICATE-----")${hint}`);
  }
  return blocks;
}

export function parseCertificate(pem: string, where: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CertsError('BAD_INPUT', `${where}: the certificate does not parse (${(err as Error).message})`, { cause: err });
  }
}

/** Parses a PEM private key (PKCS#8, SEC1 or PKCS#1). */
export function parsePrivateKey(pem: string, where: string): KeyObject {
  if (/ENCRYPTED/.test(pem)) {
    throw new CertsError('BAD_INPUT', `${where}: the private key is passphrase-protected; decrypt it first (openssl pkey -in KEY -out plain.key)`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new CertsError('BAD_INPUT', `${where} contains no PEM private key ("-----BEGIN PRIVATE KEY-----")`);
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    // The library message can quote bytes of the input: leave it out.
    throw new CertsError('BAD_INPUT', `${where}: the private key does not parse (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

export function keyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export function facts(cert: X509Certificate): CertificateFacts {
  const p = new x509.X509Certificate(cert.raw);
  const domains: string[] = [];
  const add = (n: string) => {
    const v = n.toLowerCase();
    if (!domains.includes(v)) domains.push(v);
  };
  for (const cn of p.subjectName.getField('CN')) if (/^(\*\.)?[A-Za-z0-9.-]+$/.test(cn) && cn.includes('.')) add(cn);
  const san = p.getExtension(x509.SubjectAlternativeNameExtension);
  for (const n of san?.names.items ?? []) if (n.type === 'dns') add(n.value);
  return {
    domains,
    subject: p.subject,
    issuer: p.issuer,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint: cert.fingerprint256,
  };
}

export function checkKeyMatches(cert: X509Certificate, key: KeyObject, where: string): void {
  let ok = false;
  try {
    ok = cert.checkPrivateKey(key);
  } catch {
    ok = false;
  }
  if (!ok) throw new CertsError('KEY_MISMATCH', `${where}: the private key does not belong to the certificate (subject ${facts(cert).subject}); give the key that was generated with this certificate`);
}

export function checkNotExpired(cert: X509Certificate, what: string, now: Date): void {
  const end = new Date(cert.validTo);
  if (end.getTime() <= now.getTime()) {
    throw new CertsError('EXPIRED', `${what} expired on ${end.toISOString()}; import a current certificate (or pass --allow-expired to store it anyway)`);
  }
}

/** Orders `chain` from the leaf's issuer upwards, verifying every signature.
 *  Every chain member must be a CA on the path. */
export function verifyChain(leaf: X509Certificate, chain: X509Certificate[], o: { allowExpired: boolean; now: Date }): X509Certificate[] {
  const remaining = [...chain];
  const ordered: X509Certificate[] = [];
  let current = leaf;
  while (remaining.length > 0) {
    const i = remaining.findIndex((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (i < 0) {
      const next = remaining[0]!;
      const who = current === leaf ? 'the certificate' : `chain certificate "${facts(current).subject}"`;
      throw new CertsError('CHAIN_INVALID', `the chain does not verify: ${who} (issuer "${facts(current).issuer}") is not signed by any remaining chain certificate (next: "${facts(next).subject}"); give the intermediates in order from the one that signed the certificate up to the root`);
    }
    const issuer = remaining.splice(i, 1)[0]!;
    if (!issuer.ca) throw new CertsError('CHAIN_INVALID', `the chain does not verify: "${facts(issuer).subject}" is not a CA certificate`);
    if (!o.allowExpired) checkNotExpired(issuer, `chain certificate "${facts(issuer).subject}"`, o.now);
    ordered.push(issuer);
    current = issuer;
    // A self-signed root ends the path; anything left over is not part of it.
    if (current.checkIssued(current) && remaining.length > 0) {
      throw new CertsError('CHAIN_INVALID', `the chain does not verify: "${facts(remaining[0]!).subject}" comes after the root and is not part of the path`);
    }
  }
  if (ordered.length > 0 && current.checkIssued(current) && !current.verify(current.publicKey)) {
    throw new CertsError('CHAIN_INVALID', `the chain does not verify: the root "${facts(current).subject}" has a bad self-signature`);
  }
  return ordered;
}
