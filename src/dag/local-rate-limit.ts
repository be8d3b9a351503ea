// Local rate limits of an HTTPProxy (Contour's localRateLimitPolicy):
// rateLimitPolicy.local on the virtual host and on routes, a route's
// replacing the virtual host's as Envoy's per-route config does. Global
// limits are global-rate-limit.ts.
import type { LocalRateLimitConfig } from './local-rate-limit-config.ts';
import type { NVirtualHost } from './model.ts';
import type { Condition } from './status.ts';
import { canonicalHeaderKey, HEADER_NAME_MSG, validHeaderName } from './policy.ts';
import { arr, int, rec, str } from './safe.ts';

export type NRateLimitPolicy = NonNullable<NVirtualHost['rateLimitPolicy']>;
export type NLocalRateLimit = NonNullable<NRateLimitPolicy['local']>;

const FILL_INTERVAL_MS: Readonly<Record<string, number>> = { second: 1000, minute: 60_000, hour: 3_600_000 };
const DEFAULT_STATUS = 429;

export function readLocalRateLimit(raw: unknown): NLocalRateLimit | null {
  const l = rec(raw);
  if (!l) return null;
  return {
    requests: int(l.requests),
    unit: str(l.unit),
    burst: int(l.burst),
    responseStatusCode: int(l.responseStatusCode),
    responseHeadersToAdd: arr(l.responseHeadersToAdd).map((h) => {
      const r = rec(h) ?? {};
      return { name: str(r.name), value: str(r.value) };
    }),
  };
}

type Result = { ok: true; value: LocalRateLimitConfig | undefined } | { ok: false; error: string };

/** localRateLimitPolicy, with Contour's error texts. */
function localRateLimit(in_: NLocalRateLimit | null): Result {
  if (!in_) return { ok: true, value: undefined };
  if (in_.requests <= 0) return { ok: false, error: `invalid requests value ${in_.requests} in local rate limit policy` };
  const fillIntervalMs = Object.hasOwn(FILL_INTERVAL_MS, in_.unit) ? FILL_INTERVAL_MS[in_.unit] : undefined;
  if (fillIntervalMs === undefined) {
    return { ok: false, error: `invalid unit ${JSON.stringify(in_.unit)} in local rate limit policy` };
  }
  const responseHeaders: { name: string; value: string }[] = [];
  const seen = new Set<string>();
  for (const h of in_.responseHeadersToAdd) {
    const key = canonicalHeaderKey(h.name);
    if (seen.has(key)) return { ok: false, error: `duplicate header addition: "${key}"` };
    if (!validHeaderName(key)) return { ok: false, error: `invalid header name "${key}": ${HEADER_NAME_MSG}` };
    seen.add(key);
    responseHeaders.push({ name: key, value: h.value });
  }
  return {
    ok: true,
    value: {
      maxTokens: in_.requests + Math.max(0, in_.burst),
      tokensPerFill: in_.requests,
      fillIntervalMs,
      statusCode: in_.responseStatusCode > 0 ? in_.responseStatusCode : DEFAULT_STATUS,
      responseHeaders,
    },
  };
}

/** The virtual host's limit; null after recording a fatal error. Checked
 *  before routes, with the other fields isobar fails closed on. */
export function vhostLocalRateLimit(cond: Condition, vh: NVirtualHost, tcpProxy: boolean): LocalRateLimitConfig | undefined | null {
  const p = vh.rateLimitPolicy;
  if (!p) return undefined;
  if (tcpProxy && (p.local || (p.global && !p.global.disabled && p.global.descriptors.length > 0))) {
    // Envoy's HTTP filters never see a TCP stream: the limit would never
    // apply, so isobar refuses rather than forward it unlimited.
    cond.addError(
      'SpecError',
      'NotSupported',
      'Spec.VirtualHost.rateLimitPolicy is not supported by isobar on a virtual host with Spec.TCPProxy: the limit applies to HTTP requests only',
    );
    return null;
  }
  const r = localRateLimit(p.local);
  if (r.ok) return r.value;
  cond.addError('VirtualHostError', 'RateLimitPolicyNotValid', `Spec.VirtualHost.RateLimitPolicy is invalid: ${r.error}`);
  return null;
}

/** A route's own limit (it replaces the virtual host's); null after
 *  recording a fatal error. `pathLabel` names the route in messages. */
export function routeLocalRateLimit(cond: Condition, pathLabel: string, p: NRateLimitPolicy | null): LocalRateLimitConfig | undefined | null {
  if (!p) return undefined;
  const r = localRateLimit(p.local);
  if (r.ok) return r.value;
  cond.addError('RouteError', 'RateLimitPolicyNotValid', `route.rateLimitPolicy is invalid: ${r.error}`);
  return null;
}
