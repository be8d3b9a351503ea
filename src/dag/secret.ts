// Secret validation with Contour's error texts (contour-semantics rules 15,
// 16, 24, 44, 48). Pure: PEM syntax and, for serving certificates, an x509
// parse of the leaf; nothing is read from disk or the network.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Secret } from '../objects/index.ts';
import { rec, str } from './safe.ts';

interface PemBlock {
  type: string;
  body: string;
  text: string;
}

type Blocks = { ok: true; blocks: PemBlock[] } | { ok: false; error: string };

/** Every PEM block in `data`. Text between blocks is tolerated; a BEGIN line
 *  without a matching END, or a body that is not base64, is an error. */
function pemBlocks(data: string): Blocks {
  const blocks: PemBlock[] = [];
  const begin = /-----BEGIN ([^\n-]*)-----/g;
  let m: RegExpExecArray | null;
  while ((m = begin.exec(data))) {
    const type = m[1]!;
    const endMarker = `-----END ${type}-----`;
    const end = data.indexOf(endMarker, m.index + m[0].length);
    if (end < 0) return { ok: false, error: 'failed to parse PEM block' };
    const raw = data.slice(m.index + m[0].length, end);
    // Header lines ("Proc-Type: ...") are allowed before the body.
    const body = raw
      .split(/\r?\n/)
      .filter((l) => !/^[A-Za-z-]+:/.test(l))
      .join('')
      .replace(/\s+/g, '');
    if (body === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return { ok: false, error: 'failed to parse PEM block' };
    blocks.push({ type, body, text: data.slice(m.index, end + endMarker.length) });
    begin.lastIndex = end + endMarker.length;
  }
  return { ok: true, blocks };
}

/** Bundles are often shared by many Secrets: check each text once. */
const bundleMemo = new Map<string, string | null>();

/** A CA bundle: >=1 PEM block, all of type CERTIFICATE (syntax only). */
export function caBundleError(data: string): string | null {
  const known = bundleMemo.get(data);
  if (known !== undefined) return known;
  const err = caBundleErrorOf(data);
  if (bundleMemo.size > 1000) bundleMemo.clear();
  bundleMemo.set(data, err);
  return err;
}

function caBundleErrorOf(data: string): string | null {
  if (!data.includes('-----BEGIN')) return 'failed to locate certificate';
  const r = pemBlocks(data);
  if (!r.ok) return r.error;
  if (r.blocks.length === 0) return 'failed to locate certificate';
  for (const b of r.blocks) if (b.type !== 'CERTIFICATE') return `unexpected block type '${b.type}'`;
  return null;
}

function servingCertError(data: string): string | null {
  if (!data.includes('-----BEGIN')) return 'failed to locate certificate';
  const r = pemBlocks(data);
  if (!r.ok) return r.error;
  if (r.blocks.length === 0) return 'failed to locate certificate';
  for (const b of r.blocks) if (b.type !== 'CERTIFICATE') return `unexpected block type '${b.type}'`;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(r.blocks[0]!.text);
  } catch {
    return 'failed to parse PEM block';
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1] ?? '';
  const san = leaf.subjectAltName ?? '';
  if (cn === '' && !/(DNS|IP Address):/.test(san)) return 'certificate has no common name or subject alt name';
  return null;
}

const KEY_TYPES = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

function privateKeyError(data: string): string | null {
  if (!data.includes('-----BEGIN')) return 'failed to locate private key';
  const r = pemBlocks(data);
  if (!r.ok) return r.error;
  let keys = 0;
  for (const b of r.blocks) {
    if (b.type === 'EC PARAMETERS') continue;
    if (!KEY_TYPES.has(b.type)) return `unexpected block type '${b.type}'`;
    try {
      createPrivateKey(b.text);
    } catch {
      return 'failed to parse PEM block';
    }
    keys++;
  }
  if (keys === 0) return 'failed to locate private key';
  if (keys > 1) return 'multiple private keys';
  return null;
}

function typeOk(s: Secret): boolean {
  const t = str(s.type) || 'Opaque';
  return t === 'kubernetes.io/tls' || t === 'Opaque';
}

function dataOf(s: Secret): Record<string, unknown> {
  return rec(s.data) ?? {};
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** A serving certificate Secret (vhost, fallback, envoy client cert). */
export function checkTlsSecret(s: Secret | undefined): Checked<{ certPem: string; keyPem: string }> {
  if (!s) return { ok: false, error: 'Secret not found' };
  if (!typeOk(s)) return { ok: false, error: 'secret type is not "kubernetes.io/tls" or "Opaque"' };
  const d = dataOf(s);
  const cert = str(d['tls.crt']);
  if (cert === '') return { ok: false, error: 'missing TLS certificate' };
  const ce = servingCertError(cert);
  if (ce) return { ok: false, error: `invalid TLS certificate: ${ce}` };
  const key = str(d['tls.key']);
  if (key === '') return { ok: false, error: 'missing TLS private key' };
  const ke = privateKeyError(key);
  if (ke) return { ok: false, error: `invalid TLS private key: ${ke}` };
  return { ok: true, value: { certPem: cert, keyPem: key } };
}

/** A CA Secret: key `ca.crt` holding PEM certificates. */
export function checkCaSecret(s: Secret | undefined): Checked<string> {
  if (!s) return { ok: false, error: 'Secret not found' };
  if (!typeOk(s)) return { ok: false, error: 'secret type is not "kubernetes.io/tls" or "Opaque"' };
  const ca = str(dataOf(s)['ca.crt']);
  if (ca === '') return { ok: false, error: 'empty "ca.crt" key' };
  const e = caBundleError(ca);
  if (e) return { ok: false, error: `invalid CA certificate bundle: ${e}` };
  return { ok: true, value: ca };
}

/** A CRL Secret: key `crl.pem` holding PEM X509 CRLs. */
export function checkCrlSecret(s: Secret | undefined): Checked<string> {
  if (!s) return { ok: false, error: 'Secret not found' };
  if (!typeOk(s)) return { ok: false, error: 'secret type is not "kubernetes.io/tls" or "Opaque"' };
  const crl = str(dataOf(s)['crl.pem']);
  if (crl === '') return { ok: false, error: 'empty "crl.pem" key' };
  if (!crl.includes('-----BEGIN')) return { ok: false, error: 'invalid CRL bundle: failed to locate CRL' };
  const r = pemBlocks(crl);
  if (!r.ok) return { ok: false, error: `invalid CRL bundle: ${r.error}` };
  for (const b of r.blocks)
    if (b.type !== 'X509 CRL') return { ok: false, error: `invalid CRL bundle: unexpected block type '${b.type}'` };
  return { ok: true, value: crl };
}
