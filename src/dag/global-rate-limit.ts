// Global rate limits of an HTTPProxy (Contour's globalRateLimitPolicy and
// computeVirtualHostRateLimitPolicy): rateLimitPolicy.global on the virtual
// host, else the config file's rateLimitService.defaultGlobalRateLimitPolicy
// (unless the virtual host disables it); a route's own descriptors replace
// the virtual host's, and a route's global.disabled drops them (Envoy's
// vh_rate_limits IGNORE). The descriptors go to the config file's
// rateLimitService; without one a policy would limit nothing, so it makes
// the HTTPProxy invalid (fail closed) where Contour would serve it unlimited.
import type { IsobarConfig } from '../config/index.ts';
import type { GlobalRateLimitPolicyConfig, RateLimitDescriptorEntry, RateLimitServiceConfig } from './global-rate-limit-config.ts';
import type { ExtensionLookup } from './authorization.ts';
import type { NCond, NVirtualHost } from './model.ts';
import type { NRateLimitPolicy } from './local-rate-limit.ts';
import type { Condition } from './status.ts';
import { mergeHeaders } from './conditions.ts';

export type NGlobalRateLimit = NonNullable<NRateLimitPolicy['global']>;

/** Envoy's ratelimit filter timeout when the ExtensionService sets none. */
const ENVOY_DEFAULT_TIMEOUT_MS = 20;

const NO_SERVICE =
  "global rate limit descriptors need the config file's rateLimitService.extensionService (isobar does not serve a limit it cannot enforce)";

/** The config file's rate limit service as the proxy calls it; undefined without one. */
export function rateLimitService(config: IsobarConfig, extensions: ExtensionLookup): RateLimitServiceConfig | undefined {
  const r = config.rateLimitService;
  if (!r) return undefined;
  const extensionCluster = `extension/${r.extensionService.namespace}/${r.extensionService.name}`;
  const ext = extensions(extensionCluster);
  const t = ext?.responseTimeoutMs;
  return {
    extensionCluster,
    domain: r.domain,
    failOpen: r.failOpen,
    enableXRateLimitHeaders: r.enableXRateLimitHeaders,
    enableResourceExhaustedCode: r.enableResourceExhaustedCode,
    timeoutMs: t === undefined ? ENVOY_DEFAULT_TIMEOUT_MS : t,
  };
}

type Descriptors = GlobalRateLimitPolicyConfig['descriptors'];
type Result = { ok: true; value: Descriptors | undefined } | { ok: false; error: string };

/** globalRateLimitPolicy, with Contour's error text; undefined when
 *  disabled or without descriptors. */
function descriptorsOf(in_: NGlobalRateLimit | null): Result {
  if (!in_ || in_.disabled || in_.descriptors.length === 0) return { ok: true, value: undefined };
  const out: Descriptors = [];
  for (const d of in_.descriptors) {
    const entries: RateLimitDescriptorEntry[] = [];
    for (const e of d.entries) {
      const set = [e.genericKey, e.requestHeader, e.requestHeaderValueMatch, e.remoteAddress].filter((x) => x !== null).length;
      if (set !== 1) return { ok: false, error: 'rate limit descriptor entry must have exactly one field set' };
      if (e.genericKey) entries.push({ kind: 'genericKey', key: e.genericKey.key, value: e.genericKey.value });
      else if (e.requestHeader) entries.push({ kind: 'requestHeader', headerName: e.requestHeader.headerName.toLowerCase(), descriptorKey: e.requestHeader.descriptorKey });
      else if (e.requestHeaderValueMatch) {
        const m = e.requestHeaderValueMatch;
        const conds: NCond[] = m.headers.map((header) => ({ prefix: '', exact: '', regex: '', header, queryParameter: null }));
        entries.push({ kind: 'requestHeaderValueMatch', headers: mergeHeaders(conds), expectMatch: m.expectMatch, value: m.value });
      } else entries.push({ kind: 'remoteAddress' });
    }
    out.push({ entries });
  }
  return { ok: true, value: out };
}

/** The virtual host's global limit; null after recording a fatal error. */
export function vhostGlobalRateLimit(
  cond: Condition,
  vh: NVirtualHost,
  serviceOf: () => RateLimitServiceConfig | undefined,
  defaultPolicy: NGlobalRateLimit | null,
): GlobalRateLimitPolicyConfig | undefined | null {
  const own = vh.rateLimitPolicy?.global ?? null;
  const r = descriptorsOf(own);
  if (!r.ok) {
    cond.addError('VirtualHostError', 'RateLimitPolicyNotValid', `Spec.VirtualHost.RateLimitPolicy is invalid: ${r.error}`);
    return null;
  }
  let descriptors = r.value;
  if (descriptors === undefined && !own?.disabled && defaultPolicy) {
    const d = descriptorsOf(defaultPolicy);
    if (!d.ok) {
      cond.addError('VirtualHostError', 'RateLimitPolicyNotValid', `Default Global RateLimit Policy is invalid: ${d.error}`);
      return null;
    }
    descriptors = d.value;
  }
  if (descriptors === undefined) return undefined;
  const service = serviceOf();
  if (!service) {
    cond.addError('VirtualHostError', 'RateLimitPolicyNotValid', `Spec.VirtualHost.RateLimitPolicy is invalid: ${NO_SERVICE}`);
    return null;
  }
  return { service, descriptors };
}

/** A route's global limit: its own descriptors, or that it drops the
 *  virtual host's; null after recording a fatal error. */
export function routeGlobalRateLimit(
  cond: Condition,
  p: NRateLimitPolicy | null,
  serviceOf: () => RateLimitServiceConfig | undefined,
): { policy?: GlobalRateLimitPolicyConfig; ignoreVirtualHost: boolean } | null {
  const g = p?.global ?? null;
  const r = descriptorsOf(g);
  if (!r.ok) {
    cond.addError('RouteError', 'RateLimitPolicyNotValid', `route.rateLimitPolicy is invalid: ${r.error}`);
    return null;
  }
  const ignoreVirtualHost = g?.disabled === true;
  if (r.value === undefined) return { ignoreVirtualHost };
  const service = serviceOf();
  if (!service) {
    cond.addError('RouteError', 'RateLimitPolicyNotValid', `route.rateLimitPolicy is invalid: ${NO_SERVICE}`);
    return null;
  }
  return { policy: { service, descriptors: r.value }, ignoreVirtualHost };
}
