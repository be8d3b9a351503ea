// A route's internalRedirectPolicy (Contour's internalRedirectPolicy in
// internal/dag/httpproxy_processor.go and its Envoy translation): the CRD
// checks the values, so nothing here is an error; unset fields take
// Envoy's defaults (one redirect, 302 only, same scheme).
import type { NInternalRedirect } from './model.ts';
import type { InternalRedirectConfig } from './route-policies-config.ts';
import { arr, bool, int, rec, str } from './safe.ts';

export function readInternalRedirectPolicy(raw: unknown): NInternalRedirect | null {
  const r = rec(raw);
  if (!r) return null;
  return {
    maxInternalRedirects: int(r.maxInternalRedirects),
    redirectResponseCodes: arr(r.redirectResponseCodes).map(int) as NInternalRedirect['redirectResponseCodes'],
    allowCrossSchemeRedirect: str(r.allowCrossSchemeRedirect) as NInternalRedirect['allowCrossSchemeRedirect'],
    denyRepeatedRouteRedirect: bool(r.denyRepeatedRouteRedirect),
  };
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

export function internalRedirectPolicy(p: NInternalRedirect | null): InternalRedirectConfig | undefined {
  if (p === null) return undefined;
  // Envoy ignores codes other than 301, 302, 303, 307 and 308.
  const codes = [...new Set(p.redirectResponseCodes.filter((c) => REDIRECT_CODES.has(c)))].sort((a, b) => a - b);
  const scheme = p.allowCrossSchemeRedirect;
  return {
    // protobuf.UInt32OrNil: 0 leaves Envoy's default of 1.
    maxInternalRedirects: p.maxInternalRedirects > 0 ? p.maxInternalRedirects : 1,
    redirectResponseCodes: p.redirectResponseCodes.length > 0 ? codes : [302],
    // The CRD allows only these; anything else is Never, as in Contour.
    allowCrossScheme: scheme === 'Always' || scheme === 'SafeOnly' ? scheme : 'Never',
    denyRepeatedRouteRedirect: p.denyRepeatedRouteRedirect,
  };
}
