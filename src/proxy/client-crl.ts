// clientValidation.crlOnlyVerifyLeafCert: only the client's own
// certificate is checked against the CRLs (OpenSSL's X509_V_FLAG_CRL_CHECK
// without CRL_CHECK_ALL, as Envoy sets for only_verify_leaf_cert_crl).
// Node's TLS can only check the whole chain once a CRL is given, so for
// these virtual hosts the handshake verifies the chain against the CA
// alone and this check runs right after it, before any request is read:
// the leaf's issuer must have a CRL that it signed and that is current,
// and the leaf's serial must not be on it. A failed check closes the
// connection, as a failed handshake would.
import { X509Certificate } from 'node:crypto';

/** One CRL, parsed lazily (its parser is only loaded where used). */
interface Crl {
  der: Buffer;
  parsed?: Promise<ParsedCrl>;
}

interface ParsedCrl {
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  serials: Set<string>;
  /** Whether the CRL is signed by the key of this issuer (by fingerprint). */
  signedBy(issuer: X509Certificate): Promise<boolean>;
}

function pemBlocks(pem: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

/** Serial numbers compared as numbers: hex, no leading zeros, lower case. */
function serialKey(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

async function parse(der: Buffer): Promise<ParsedCrl> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const crl = new x509.X509Crl(der);
  const verdicts = new Map<string, Promise<boolean>>();
  return {
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    serials: new Set(crl.entries.map((e) => serialKey(e.serialNumber))),
    signedBy(issuer) {
      let v = verdicts.get(issuer.fingerprint256);
      if (!v) {
        v = crl.verify({ publicKey: new x509.X509Certificate(issuer.raw) }).catch(() => false);
        verdicts.set(issuer.fingerprint256, v);
      }
      return v;
    },
  };
}

export class LeafCrlCheck {
  readonly #cas: X509Certificate[];
  readonly #crls: Crl[];

  constructor(caPem: string, crlPem: string) {
    this.#cas = pemBlocks(caPem, 'CERTIFICATE').map((der) => new X509Certificate(der));
    this.#crls = pemBlocks(crlPem, 'X509 CRL').map((der) => ({ der }));
  }

  /** null when the leaf passes, else why it does not. */
  async problem(leaf: X509Certificate, sent: readonly X509Certificate[], now = new Date()): Promise<string | null> {
    const issuer = [...sent.slice(1), ...this.#cas].find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
    if (!issuer) return 'unable to get issuer certificate';
    let current: ParsedCrl | undefined;
    let expired = false;
    for (const c of this.#crls) {
      let p: ParsedCrl;
      try {
        p = await (c.parsed ??= parse(c.der));
      } catch {
        continue; // an unreadable CRL vouches for nothing
      }
      if (!(await p.signedBy(issuer))) continue;
      if (p.thisUpdate > now || (p.nextUpdate !== undefined && p.nextUpdate < now)) {
        expired = true;
        continue;
      }
      current = p;
      break;
    }
    if (!current) return expired ? 'CRL has expired or is not yet valid' : 'unable to get certificate CRL';
    return current.serials.has(serialKey(leaf.serialNumber)) ? 'certificate revoked' : null;
  }
}
