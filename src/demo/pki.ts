// Demo and test PKI: CAs, server and client certificates generated in-process
// (ECDSA P-256 through WebCrypto), for the quickstart and for tests.

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface Issued {
  certPem: string;
  keyPem: string;
  /** The issuing CA's certificate (for chains); "" for self-signed. */
  issuerPem: string;
}

export interface Ca extends Issued {
  name: string;
  /** Issue a leaf certificate signed by this CA. */
  issue(opts: LeafOptions): Promise<Issued>;
  /** Issue an intermediate CA signed by this CA. */
  intermediate(name: string): Promise<Ca>;
}

export interface LeafOptions {
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** URI SANs (e.g. SPIFFE IDs). */
  uris?: string[];
  /** Validity window relative to now, in days (defaults -1 .. 30). */
  notBeforeDays?: number;
  notAfterDays?: number;
  client?: boolean; // clientAuth EKU instead of serverAuth
}

let serial = 1;
function nextSerial(): string {
  serial++;
  return serial.toString(16).padStart(2, '0') + Date.now().toString(16);
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END PRIVATE KEY-----\n`;
}

function makeCa(name: string, cert: x509.X509Certificate, keys: CryptoKeyPair, issuerPem: string): Promise<Ca> {
  return (async () => {
    const ca: Ca = {
      name,
      certPem: cert.toString('pem') + '\n',
      keyPem: await keyPem(keys.privateKey),
      issuerPem,
      async issue(opts: LeafOptions): Promise<Issued> {
        const leafKeys = await keyPair();
        const now = Date.now();
        const names: x509.JsonGeneralName[] = [
          ...(opts.dnsNames ?? []).map((v) => ({ type: 'dns' as const, value: v })),
          ...(opts.ipAddresses ?? []).map((v) => ({ type: 'ip' as const, value: v })),
          ...(opts.uris ?? []).map((v) => ({ type: 'url' as const, value: v })),
        ];
        const extensions: x509.Extension[] = [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([opts.client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth]),
          await x509.AuthorityKeyIdentifierExtension.create(cert),
        ];
        if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
        const leaf = await x509.X509CertificateGenerator.create({
          serialNumber: nextSerial(),
          subject: `CN=${opts.commonName ?? opts.dnsNames?.[0] ?? 'leaf'}`,
          issuer: cert.subject,
          notBefore: new Date(now + (opts.notBeforeDays ?? -1) * DAY),
          notAfter: new Date(now + (opts.notAfterDays ?? 30) * DAY),
          signingAlgorithm: ALG,
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          extensions,
        });
        return { certPem: leaf.toString('pem') + '\n', keyPem: await keyPem(leafKeys.privateKey), issuerPem: ca.certPem };
      },
      async intermediate(subName: string): Promise<Ca> {
        const subKeys = await keyPair();
        const now = Date.now();
        const sub = await x509.X509CertificateGenerator.create({
          serialNumber: nextSerial(),
          subject: `CN=${subName}`,
          issuer: cert.subject,
          notBefore: new Date(now - DAY),
          notAfter: new Date(now + 365 * DAY),
          signingAlgorithm: ALG,
          publicKey: subKeys.publicKey,
          signingKey: keys.privateKey,
          extensions: [
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
            await x509.SubjectKeyIdentifierExtension.create(subKeys.publicKey),
            await x509.AuthorityKeyIdentifierExtension.create(cert),
          ],
        });
        return makeCa(subName, sub, subKeys, ca.certPem);
      },
    };
    return ca;
  })();
}

/** A new self-signed root CA. */
export async function createCa(name = 'isobar test CA'): Promise<Ca> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return makeCa(name, cert, keys, '');
}

/** A self-signed leaf (not a CA): what a misconfigured backend presents. */
export async function selfSigned(dnsNames: string[]): Promise<Issued> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${dnsNames[0] ?? 'self'}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension(dnsNames.map((v) => ({ type: 'dns' as const, value: v })))],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey), issuerPem: '' };
}
