// A virtual host's CORS policy (Contour's toCORSPolicy): the checks, with
// Contour's messages, and what the proxy's CORS filter applies. An origin
// is an exact match when Go's url.Parse reads it as scheme://host[:port]
// and nothing else, otherwise it must be a valid regex.
import type { CorsConfig, CorsOrigin } from './cors-config.ts';
import type { NCorsPolicy } from './model.ts';
import type { Condition } from './status.ts';
import { regexError } from './conditions.ts';
import { parseGoDuration } from './duration.ts';
import { parseGoUrl } from './go-url.ts';
import { bool, rec, str, strArr } from './safe.ts';

export function readCorsPolicy(raw: unknown): NCorsPolicy | null {
  const c = rec(raw);
  if (!c) return null;
  return {
    allowCredentials: bool(c.allowCredentials),
    allowOrigin: strArr(c.allowOrigin),
    allowMethods: strArr(c.allowMethods),
    allowHeaders: strArr(c.allowHeaders),
    exposeHeaders: strArr(c.exposeHeaders),
    maxAge: str(c.maxAge),
    allowPrivateNetwork: bool(c.allowPrivateNetwork),
  };
}

type Parsed = { ok: true; value: CorsConfig } | { ok: false; error: string };

/** Go's url.Parse lower-cases the scheme and keeps the host as written,
 *  and Contour compares scheme + "://" + host with the original. */
function isExactOrigin(ao: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@]+$/.test(ao)) return false;
  const u = parseGoUrl(ao);
  return u.ok && u.hostname !== '';
}

function toOrigin(ao: string): CorsOrigin | string {
  if (ao === '*' || isExactOrigin(ao)) return { kind: 'exact', value: ao };
  if (regexError(ao) !== null) return `invalid allowed origin "${ao}": allowed origin is invalid exact match and invalid regex match`;
  return { kind: 'regex', value: ao };
}

/** timeout.ParseMaxAge, then Envoy's text: whole seconds, "0" disables caching. */
function maxAgeOf(s: string): { ok: true; value: string } | { ok: false; error: string } {
  if (s === '') return { ok: true, value: '' };
  const d = parseGoDuration(s);
  if (!d.ok) return { ok: false, error: `unable to parse timeout string "${s}": ${d.error}` };
  if (d.ms < 0) return { ok: false, error: `invalid max age value "${s}"` };
  return { ok: true, value: d.ms === 0 ? '0' : String(roundHalfEven(d.ms / 1000)) };
}

/** Go's %.0f (ties to even). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return x % 1 === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function toCorsPolicy(c: NCorsPolicy): Parsed {
  if (c.allowOrigin.length === 0) return { ok: false, error: 'invalid allowed origin configuration with length 0' };
  const allowOrigin: CorsOrigin[] = [];
  for (const ao of c.allowOrigin) {
    const o = toOrigin(ao);
    if (typeof o === 'string') return { ok: false, error: o };
    allowOrigin.push(o);
  }
  if (c.allowMethods.length === 0) return { ok: false, error: 'invalid allowed methods configuration with length 0' };
  const maxAge = maxAgeOf(c.maxAge);
  if (!maxAge.ok) return maxAge;
  return {
    ok: true,
    value: {
      allowOrigin,
      allowMethods: c.allowMethods.join(','),
      allowHeaders: c.allowHeaders.join(','),
      exposeHeaders: c.exposeHeaders.join(','),
      maxAge: maxAge.value,
      allowCredentials: c.allowCredentials,
      allowPrivateNetwork: c.allowPrivateNetwork,
    },
  };
}

/** The virtual host's policy: undefined when none, null after recording
 *  the (fatal) error. */
export function vhostCorsPolicy(cond: Condition, c: NCorsPolicy | null): CorsConfig | undefined | null {
  if (!c) return undefined;
  const r = toCorsPolicy(c);
  if (r.ok) return r.value;
  cond.addError('CORSError', 'PolicyDidNotParse', `Spec.VirtualHost.CORSPolicy: ${r.error}`);
  return null;
}
