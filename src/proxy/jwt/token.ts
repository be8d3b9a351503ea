// A JWT read the way Envoy's jwt_verify library reads it (Jwt::parseFromString):
// the same checks in the same order, each failure its own status, so a
// client sees the body Envoy would send.
import type { JwtStatus } from './status.ts';

/** The algorithms Envoy implements (jwt.cc isImplemented): no "none". */
export const IMPLEMENTED_ALGS: ReadonlySet<string> = new Set([
  'ES256', 'ES384', 'ES512',
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'EdDSA',
]);

export interface ParsedJwt {
  /** header.payload.signature without empty sections: what is verified. */
  compact: string;
  alg: string;
  /** "" when the header has none. */
  kid: string;
  iss: string;
  audiences: string[];
  /** Seconds since the epoch; 0 when absent. */
  nbf: number;
  exp: number;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** absl::WebSafeBase64Unescape: base64url, padding optional. */
export function decodeBase64Url(s: string): Buffer | null {
  let body = s;
  const pad = /=+$/.exec(s)?.[0].length ?? 0;
  if (pad > 0) {
    if (pad > 2 || s.length % 4 !== 0) return null;
    body = s.slice(0, -pad);
  }
  if (!B64URL.test(body) || body.length % 4 === 1) return null;
  return Buffer.from(body, 'base64url');
}

function jsonObject(bytes: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

type Field<T> = { ok: true; value: T | undefined } | { ok: false; outOfRange?: boolean };

function stringField(o: Record<string, unknown>, k: string): Field<string> {
  if (!Object.hasOwn(o, k)) return { ok: true, value: undefined };
  const v = o[k];
  return typeof v === 'string' ? { ok: true, value: v } : { ok: false };
}

/** StructUtils::GetUInt64: a JSON number in [0, 2^64), truncated. */
function uintField(o: Record<string, unknown>, k: string): Field<number> {
  if (!Object.hasOwn(o, k)) return { ok: true, value: undefined };
  const v = o[k];
  if (typeof v !== 'number') return { ok: false };
  if (v < 0 || v >= 2 ** 64) return { ok: false, outOfRange: true };
  return { ok: true, value: Math.trunc(v) };
}

export function parseJwt(raw: string): { ok: true; jwt: ParsedJwt } | { ok: false; status: JwtStatus } {
  const fail = (status: JwtStatus) => ({ ok: false as const, status });
  // absl::StrSplit with SkipEmpty: "a..b" has two parts, not three.
  const parts = raw.split('.').filter((p) => p !== '');
  if (parts.length !== 3) return fail('JwtBadFormat');
  const headerBytes = decodeBase64Url(parts[0]!);
  if (!headerBytes) return fail('JwtHeaderParseErrorBadBase64');
  const header = jsonObject(headerBytes);
  if (!header) return fail('JwtHeaderParseErrorBadJson');
  const alg = header.alg;
  if (typeof alg !== 'string') return fail('JwtHeaderBadAlg');
  if (!IMPLEMENTED_ALGS.has(alg)) return fail('JwtHeaderNotImplementedAlg');
  const kid = stringField(header, 'kid');
  if (!kid.ok) return fail('JwtHeaderBadKid');

  const payloadBytes = decodeBase64Url(parts[1]!);
  if (!payloadBytes) return fail('JwtPayloadParseErrorBadBase64');
  const payload = jsonObject(payloadBytes);
  if (!payload) return fail('JwtPayloadParseErrorBadJson');
  const iss = stringField(payload, 'iss');
  if (!iss.ok) return fail('JwtPayloadParseErrorIssNotString');
  if (!stringField(payload, 'sub').ok) return fail('JwtPayloadParseErrorSubNotString');
  const iat = uintField(payload, 'iat');
  if (!iat.ok) return fail(iat.outOfRange ? 'JwtPayloadParseErrorIatOutOfRange' : 'JwtPayloadParseErrorIatNotInteger');
  const nbf = uintField(payload, 'nbf');
  if (!nbf.ok) return fail(nbf.outOfRange ? 'JwtPayloadParseErrorNbfOutOfRange' : 'JwtPayloadParseErrorNbfNotInteger');
  const exp = uintField(payload, 'exp');
  if (!exp.ok) return fail(exp.outOfRange ? 'JwtPayloadParseErrorExpOutOfRange' : 'JwtPayloadParseErrorExpNotInteger');
  if (!stringField(payload, 'jti').ok) return fail('JwtPayloadParseErrorJtiNotString');
  let audiences: string[] = [];
  if (Object.hasOwn(payload, 'aud')) {
    const aud = payload.aud;
    if (typeof aud === 'string') audiences = [aud];
    else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) audiences = aud as string[];
    else return fail('JwtPayloadParseErrorAudNotString');
  }
  const signature = decodeBase64Url(parts[2]!);
  if (!signature) return fail('JwtSignatureParseErrorBadBase64');
  return {
    ok: true,
    jwt: {
      compact: parts.join('.'),
      alg,
      kid: kid.value ?? '',
      iss: iss.value ?? '',
      audiences,
      nbf: nbf.value ?? 0,
      exp: exp.value ?? 0,
      signature,
    },
  };
}

/** Envoy's default clock skew for nbf and exp (kClockSkewInSecond). */
export const CLOCK_SKEW_S = 60;

/** Jwt::verifyTimeConstraint. */
export function timeStatus(jwt: ParsedJwt, nowS: number): JwtStatus | null {
  if (nowS + CLOCK_SKEW_S < jwt.nbf) return 'JwtNotYetValid';
  if (jwt.exp !== 0 && nowS > jwt.exp + CLOCK_SKEW_S) return 'JwtExpired';
  return null;
}
