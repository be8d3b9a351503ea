// A JWKS document read as Envoy reads it (Jwks::createFromJwksCore): keys
// that are malformed are skipped, a document without one usable key is an
// error, and Google's `{kid: PEM certificate}` form is accepted too. Keys
// become Node KeyObjects here, once, so verification only checks signatures.
import { X509Certificate, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { decodeBase64Url } from './token.ts';
import type { JwtStatus } from './status.ts';

export interface JwkEntry {
  kid: string; // "" when the key has none
  alg: string; // "" when the key has none
  kty: 'RSA' | 'EC' | 'oct' | 'OKP';
  key: KeyObject;
}

export class KeySet {
  readonly keys: readonly JwkEntry[];
  readonly #kids: Set<string>;
  constructor(keys: JwkEntry[]) {
    this.keys = keys;
    this.#kids = new Set(keys.map((k) => k.kid).filter((k) => k !== ''));
  }
  hasKid(kid: string): boolean {
    return this.#kids.has(kid);
  }
}

export type JwksRead = { ok: true; set: KeySet } | { ok: false; status: JwtStatus; detail: string };

const X509_PREFIX = '-----BEGIN CERTIFICATE-----\n';
const X509_SUFFIX = '\n-----END CERTIFICATE-----\n';
const EC_CURVE_OF_ALG: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

type Rec = Record<string, unknown>;
type KeyResult = { ok: true; entry: JwkEntry } | { ok: false; detail: string };

function isRec(v: unknown): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A present field must be a string; absent reads as undefined. */
function strField(o: Rec, k: string): string | undefined | null {
  if (!Object.hasOwn(o, k)) return undefined;
  return typeof o[k] === 'string' ? (o[k] as string) : null;
}

function publicKey(jwk: Rec, what: string): KeyObject | string {
  try {
    return createPublicKey({ key: jwk as never, format: 'jwk' });
  } catch (e) {
    return `${what}: ${(e as Error).message}`;
  }
}

function readRsa(o: Rec, kid: string, alg: string): KeyResult {
  if (alg !== '' && !alg.startsWith('RS') && !alg.startsWith('PS')) return { ok: false, detail: '[alg] is not started with [RS] or [PS] for an RSA key' };
  const n = strField(o, 'n');
  const e = strField(o, 'e');
  if (typeof n !== 'string') return { ok: false, detail: n === undefined ? '[n] field is missing for a RSA key' : '[n] field is not string for a RSA key' };
  if (typeof e !== 'string') return { ok: false, detail: e === undefined ? '[e] field is missing for a RSA key' : '[e] field is not string for a RSA key' };
  // Envoy rejects non-standard public exponents early.
  const eBytes = decodeBase64Url(e);
  const eValue = eBytes ? BigInt(`0x${eBytes.toString('hex') || '0'}`) : -1n;
  if (eValue !== 3n && eValue !== 65537n) return { ok: false, detail: 'Jwks RSA [n] or [e] field is missing or has a parse error' };
  const key = publicKey({ kty: 'RSA', n, e }, 'Jwks RSA [n] or [e] field is missing or has a parse error');
  return typeof key === 'string' ? { ok: false, detail: key } : { ok: true, entry: { kid, alg, kty: 'RSA', key } };
}

function readEc(o: Rec, kid: string, alg: string): KeyResult {
  if (alg !== '' && !alg.startsWith('ES')) return { ok: false, detail: '[alg] is not started with [ES] for an EC key' };
  let crv = strField(o, 'crv');
  if (crv === null) return { ok: false, detail: '[crv] field is not string for an EC key' };
  crv ??= '';
  if (alg !== '' && crv !== '' && EC_CURVE_OF_ALG[alg] !== crv) return { ok: false, detail: '[crv] field specified is not compatible with [alg] for an EC key' };
  // The curve follows from alg when crv is absent; neither means P-256.
  const curve = crv !== '' ? crv : alg !== '' ? EC_CURVE_OF_ALG[alg] : 'P-256';
  if (curve !== 'P-256' && curve !== 'P-384' && curve !== 'P-521') return { ok: false, detail: '[crv] or [alg] field is not supported for an EC key' };
  const x = strField(o, 'x');
  const y = strField(o, 'y');
  if (typeof x !== 'string') return { ok: false, detail: x === undefined ? '[x] field is missing for an EC key' : '[x] field is not string for an EC key' };
  if (typeof y !== 'string') return { ok: false, detail: y === undefined ? '[y] field is missing for an EC key' : '[y] field is not string for an EC key' };
  const key = publicKey({ kty: 'EC', crv: curve, x, y }, 'Jwks EC [x] and [y] fields have a parse error.');
  return typeof key === 'string' ? { ok: false, detail: key } : { ok: true, entry: { kid, alg, kty: 'EC', key } };
}

function readOct(o: Rec, kid: string, alg: string): KeyResult {
  if (alg !== '' && alg !== 'HS256' && alg !== 'HS384' && alg !== 'HS512') return { ok: false, detail: '[alg] does not start with [HS] for an HMAC key' };
  const k = strField(o, 'k');
  if (typeof k !== 'string') return { ok: false, detail: k === undefined ? '[k] field is missing for an HMAC key' : '[k] field is not string for an HMAC key' };
  const bytes = decodeBase64Url(k);
  if (!bytes || bytes.length === 0) return { ok: false, detail: 'Jwks Oct key is an invalid Base64' };
  return { ok: true, entry: { kid, alg, kty: 'oct', key: createSecretKey(bytes) } };
}

function readOkp(o: Rec, kid: string, alg: string): KeyResult {
  if (alg !== '' && alg !== 'EdDSA') return { ok: false, detail: '[alg] is not [EdDSA] for an OKP key' };
  const crv = strField(o, 'crv');
  if (typeof crv !== 'string') return { ok: false, detail: crv === undefined ? '[crv] field is missing for an OKP key' : '[crv] field is not string for an OKP key' };
  if (crv !== 'Ed25519') return { ok: false, detail: '[crv] field is not supported for an OKP key' };
  const x = strField(o, 'x');
  if (typeof x !== 'string') return { ok: false, detail: x === undefined ? '[x] field is missing for an OKP key' : '[x] field is not string for an OKP key' };
  const raw = decodeBase64Url(x);
  if (!raw) return { ok: false, detail: 'Jwks OKP [x] field is an invalid Base64.' };
  if (raw.length !== 32) return { ok: false, detail: 'Jwks OKP [x] field is wrong length.' };
  const key = publicKey({ kty: 'OKP', crv, x }, 'Jwks OKP [x] field is an invalid Base64.');
  return typeof key === 'string' ? { ok: false, detail: key } : { ok: true, entry: { kid, alg, kty: 'OKP', key } };
}

function readJwk(o: Rec): KeyResult {
  const kty = strField(o, 'kty');
  if (kty === undefined) return { ok: false, detail: '[kty] is missing in [keys]' };
  if (kty === null) return { ok: false, detail: '[kty] is bad in [keys]' };
  // kid and alg are optional; a wrong type reads as absent (StructUtils ignores it here).
  const kid = strField(o, 'kid') ?? '';
  const alg = strField(o, 'alg') ?? '';
  switch (kty) {
    case 'RSA':
      return readRsa(o, kid, alg);
    case 'EC':
      return readEc(o, kid, alg);
    case 'oct':
      return readOct(o, kid, alg);
    case 'OKP':
      return readOkp(o, kid, alg);
    default:
      return { ok: false, detail: '[kty] is not supported in [keys]' };
  }
}

/** `{kid: "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"}` (RSA only, as Envoy). */
function readX509Map(doc: Rec): JwksRead | null {
  const entries = Object.entries(doc);
  if (entries.length === 0) return null;
  for (const [kid, v] of entries) {
    if (kid === '' || typeof v !== 'string' || !v.startsWith(X509_PREFIX) || !v.endsWith(X509_SUFFIX)) return null;
  }
  const keys: JwkEntry[] = [];
  for (const [kid, pem] of entries) {
    let key: KeyObject;
    try {
      key = new X509Certificate(pem as string).publicKey;
    } catch {
      return { ok: false, status: 'JwksNoValidKeys', detail: 'X509 parse pubkey fails' };
    }
    if (key.asymmetricKeyType !== 'rsa') return { ok: false, status: 'JwksNoValidKeys', detail: 'X509 parse pubkey internal fails: get pubkey' };
    keys.push({ kid, alg: '', kty: 'RSA', key });
  }
  return { ok: true, set: new KeySet(keys) };
}

export function parseJwks(text: string): JwksRead {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, status: 'JwksParseError', detail: 'not JSON' };
  }
  if (!isRec(doc)) return { ok: false, status: 'JwksParseError', detail: 'not a JSON object' };
  if (!Object.hasOwn(doc, 'keys')) return readX509Map(doc) ?? { ok: false, status: 'JwksNoKeys', detail: 'no "keys" field' };
  if (!Array.isArray(doc.keys)) return { ok: false, status: 'JwksBadKeys', detail: '"keys" is not an array' };
  const keys: JwkEntry[] = [];
  let firstProblem = '';
  for (const k of doc.keys) {
    if (!isRec(k)) continue;
    const r = readJwk(k);
    if (r.ok) keys.push(r.entry);
    else firstProblem ||= r.detail;
  }
  if (keys.length === 0) return { ok: false, status: 'JwksNoValidKeys', detail: firstProblem || 'no keys' };
  return { ok: true, set: new KeySet(keys) };
}
