// Signature check over a key set, in the order and with the key selection
// of Envoy (verifyJwtWithoutTimeChecking): a key is a candidate unless its
// kid or alg disagrees with the token's; no candidate at all is its own
// status. The key's type must fit the token's alg family (Envoy lets an EC,
// oct or OKP key try any alg; here such a pairing simply fails). jose does
// the cryptography.
import { compactVerify } from 'jose';
import type { KeySet, JwkEntry } from './jwks.ts';
import type { ParsedJwt } from './token.ts';
import type { JwtStatus } from './status.ts';

function fits(kty: JwkEntry['kty'], alg: string): boolean {
  switch (kty) {
    case 'RSA':
      return alg.startsWith('RS') || alg.startsWith('PS');
    case 'EC':
      return alg.startsWith('ES');
    case 'oct':
      return alg.startsWith('HS');
    case 'OKP':
      return alg === 'EdDSA';
  }
}

async function verifiesWith(jwt: ParsedJwt, entry: JwkEntry): Promise<boolean> {
  try {
    await compactVerify(jwt.compact, entry.key, { algorithms: [jwt.alg] });
    return true;
  } catch {
    // Wrong key, wrong curve for the alg, a key too short for jose: not this key.
    return false;
  }
}

/** null when a key verifies the signature. */
export async function signatureStatus(jwt: ParsedJwt, set: KeySet): Promise<JwtStatus | null> {
  let candidate = false;
  for (const entry of set.keys) {
    if (jwt.kid !== '' && entry.kid !== '' && entry.kid !== jwt.kid) continue;
    if (entry.alg !== '' && entry.alg !== jwt.alg) continue;
    candidate = true;
    if (!fits(entry.kty, jwt.alg)) continue;
    // Ed25519 signatures have one length; Envoy stops at a wrong one.
    if (entry.kty === 'OKP' && jwt.signature.length !== 64) return 'JwtEd25519SignatureWrongLength';
    if (await verifiesWith(jwt, entry)) return null;
  }
  return candidate ? 'JwtVerificationFail' : 'JwksKidAlgMismatch';
}
