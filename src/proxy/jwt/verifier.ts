// One provider's verdict on one request, in Envoy's order (authenticator.cc
// startVerify): extract the tokens, then for each token parse it, check the
// issuer, nbf/exp with 60 s of skew, the audience, and only then get the
// keys (a token that fails its claims never costs a JWKS fetch) and check
// the signature. Every token present must pass. A provider without keys
// (JWKS unreachable, invalid) fails the request: never a pass.
import { AudienceCheck } from './audience.ts';
import { extractTokens, pathWithoutToken, type TokenAt } from './extract.ts';
import type { KeySource } from './key-source.ts';
import { signatureStatus } from './signature.ts';
import { JWT_STATUS, httpStatusOf, type JwtStatus } from './status.ts';
import { parseJwt, timeStatus } from './token.ts';
import type { JwtProviderSpec, JwtRequest, JwtVerdict } from './types.ts';

/** Envoy cuts the path in the realm at this length (MaximumUriLength). */
const MAX_REALM_PATH = 256;

export function realmOf(req: JwtRequest): string {
  return `${req.scheme}://${req.authority}${req.path.slice(0, MAX_REALM_PATH)}`;
}

export function denial(req: JwtRequest, code: JwtStatus): Extract<JwtVerdict, { ok: false }> {
  // A missing token gets the bare challenge; a bad one also says why (RFC 6750).
  const challenge = `Bearer realm="${realmOf(req)}"${code === 'JwtMissed' ? '' : ', error="invalid_token"'}`;
  return { ok: false, status: httpStatusOf(code), code, body: JWT_STATUS[code], wwwAuthenticate: challenge };
}

export interface VerifierOptions {
  /** Milliseconds since the epoch. */
  now?: () => number;
}

export class JwtVerifier {
  readonly spec: JwtProviderSpec;
  readonly #keys: KeySource;
  readonly #audiences: AudienceCheck;
  readonly #now: () => number;

  constructor(spec: JwtProviderSpec, keys: KeySource, opts: VerifierOptions = {}) {
    this.spec = spec;
    this.#keys = keys;
    this.#audiences = new AudienceCheck(spec.audiences);
    this.#now = opts.now ?? Date.now;
  }

  async verify(req: JwtRequest): Promise<JwtVerdict> {
    const tokens = extractTokens(req.headers, req.path);
    if (tokens.length === 0) return denial(req, 'JwtMissed');
    // Envoy verifies the last-collected token first.
    for (let i = tokens.length - 1; i >= 0; i--) {
      const code = await this.#verifyOne(tokens[i]!);
      if (code !== null) return denial(req, code);
    }
    if (this.spec.forwardJWT) return { ok: true, forward: true, removeHeaders: [] };
    const fromHeader = tokens.some((t) => t.from === 'header');
    const fromQuery = tokens.some((t) => t.from === 'query');
    return {
      ok: true,
      forward: false,
      removeHeaders: fromHeader ? ['authorization'] : [],
      ...(fromQuery ? { path: pathWithoutToken(req.path) } : {}),
    };
  }

  async #verifyOne(at: TokenAt): Promise<JwtStatus | null> {
    const parsed = parseJwt(at.token);
    if (!parsed.ok) return parsed.status;
    const jwt = parsed.jwt;
    if (this.spec.issuer !== '' && jwt.iss !== this.spec.issuer) return 'JwtUnknownIssuer';
    const timing = timeStatus(jwt, Math.floor(this.#now() / 1000));
    if (timing) return timing;
    if (!this.#audiences.allows(jwt.audiences)) return 'JwtAudienceNotAllowed';
    const keys = await this.#keys.current();
    if (!keys.ok) return keys.status;
    const status = await signatureStatus(jwt, keys.set);
    // A kid no key has: the issuer may have rotated its keys since the fetch.
    if (status === 'JwksKidAlgMismatch' && jwt.kid !== '' && !keys.set.hasKid(jwt.kid)) {
      const fresh = await this.#keys.refreshForKid();
      if (fresh) return signatureStatus(jwt, fresh);
    }
    return status;
  }
}
