// Route and service policies: header rewriting, retries, load balancing,
// health checks, redirects (Contour's internal/dag/policy.go).
import type { HashPolicy, HealthCheck, HeaderOps, LoadBalancerStrategy, RetryPolicyConfig, TcpHealthCheck } from './proxy-config.ts';
import type { NHeaders, NHealthCheck, NLoadBalancerPolicy, NRoute, NTcpHealthCheck } from './model.ts';
import type { Condition } from './status.ts';
import { parseGoDuration } from './duration.ts';

/** The config file's global header policy (policy.request-headers ...). */
export interface HeadersPolicyDefaults {
  set: Record<string, string>;
  remove: string[];
}

/** Go's http.CanonicalHeaderKey. */
export function canonicalHeaderKey(s: string): string {
  // Keys with characters outside the token set are returned unchanged.
  if (!/^[-!#$%&'*+.^_`|~0-9A-Za-z]*$/.test(s)) return s;
  let upper = true;
  let out = '';
  for (const ch of s) {
    if (upper && ch >= 'a' && ch <= 'z') out += ch.toUpperCase();
    else if (!upper && ch >= 'A' && ch <= 'Z') out += ch.toLowerCase();
    else out += ch;
    upper = ch === '-';
  }
  return out;
}

export const HEADER_NAME_MSG =
  "[a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]";

export function validHeaderName(k: string): boolean {
  return /^[-A-Za-z0-9]+$/.test(k);
}

export interface HeadersResult {
  ops: HeaderOps;
  hostRewrite: string; // "" when none
}

export type Dynamic = Record<string, string>;

/** The config file's policy.request-headers / response-headers; null when they do nothing. */
export function headerDefaults(p: { set?: Record<string, string>; remove?: string[] } | undefined): HeadersPolicyDefaults | null {
  if (!p) return null;
  const set = p.set ?? {};
  const remove = p.remove ?? [];
  return Object.keys(set).length > 0 || remove.length > 0 ? { set, remove } : null;
}

const NO_HEADERS: { ok: true; value: HeadersResult } = { ok: true, value: { ops: { set: [], remove: [] }, hostRewrite: '' } };

/** Static %CONTOUR_*% variables are expanded here; everything else
 *  (%REQ(name)%, proxy variables) is left for the runtime. */
function expand(value: string, dynamic: Dynamic): string {
  if (!value.includes('%CONTOUR_')) return value;
  return value.replace(/%(CONTOUR_[A-Z_]+)%/g, (m, v: string) => dynamic[v] ?? m);
}

/** headersPolicyRoute */
export function headersPolicyRoute(
  policy: NHeaders | null,
  allowHost: boolean,
  dynamic: Dynamic,
): { ok: true; value: HeadersResult } | { ok: false; error: string } {
  // Most routes and services set no headers: skip the bookkeeping. The
  // result is shared; ProxyConfig is immutable data once built.
  if (!policy || (policy.set.length === 0 && policy.remove.length === 0)) return NO_HEADERS;
  const set = new Map<string, string>();
  let hostRewrite = '';
  const remove = new Set<string>();
  {
    for (const e of policy.set) {
      const k = canonicalHeaderKey(e.name);
      if (set.has(k)) return { ok: false, error: `duplicate header addition: "${k}"` };
      if (k === 'Host') {
        if (!allowHost) return { ok: false, error: 'rewriting "Host" header is not supported' };
        hostRewrite = e.value;
        continue;
      }
      if (!validHeaderName(k)) return { ok: false, error: `invalid set header "${k}": ${HEADER_NAME_MSG}` };
      set.set(k, expand(e.value, dynamic));
    }
    for (const r of policy.remove) {
      const k = canonicalHeaderKey(r);
      if (remove.has(k)) return { ok: false, error: `duplicate header removal: "${k}"` };
      if (!validHeaderName(k)) return { ok: false, error: `invalid remove header "${k}": ${HEADER_NAME_MSG}` };
      remove.add(k);
    }
  }
  return { ok: true, value: { ops: toOps(set, remove), hostRewrite } };
}

function toOps(set: Map<string, string>, remove: Set<string>): HeaderOps {
  const s = [...set];
  if (s.length > 1) s.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const r = [...remove];
  if (r.length > 1) r.sort();
  return { set: s.map(([name, value]) => ({ name, value })), remove: r };
}

/** headersPolicyService: the user's policy, then the config's global
 *  defaults for headers the user did not set. */
export function headersPolicyService(
  defaults: HeadersPolicyDefaults | null,
  policy: NHeaders | null,
  allowHost: boolean,
  dynamic: Dynamic,
): { ok: true; value: HeadersResult } | { ok: false; error: string } {
  const user = headersPolicyRoute(policy, allowHost, dynamic);
  if (!user.ok || !defaults) return user;
  const set = new Map(user.value.ops.set.map((e) => [e.name, e.value] as const));
  const remove = new Set(user.value.ops.remove);
  let hostRewrite = user.value.hostRewrite;
  for (const name of Object.keys(defaults.set).sort()) {
    const k = canonicalHeaderKey(name);
    const v = defaults.set[name]!;
    if (k === 'Host') {
      if (!allowHost) return { ok: false, error: 'rewriting "Host" header is not supported' };
      if (hostRewrite === '') hostRewrite = v;
      continue;
    }
    if (!validHeaderName(k)) return { ok: false, error: `invalid set header "${k}": ${HEADER_NAME_MSG}` };
    if (!set.has(k)) set.set(k, expand(v, dynamic));
  }
  for (const r of defaults.remove) {
    const k = canonicalHeaderKey(r);
    if (!validHeaderName(k)) return { ok: false, error: `invalid set header "${k}": ${HEADER_NAME_MSG}` };
    remove.add(k);
  }
  return { ok: true, value: { ops: toOps(set, remove), hostRewrite } };
}

export function retryPolicy(rp: NRoute['retryPolicy']): RetryPolicyConfig | undefined {
  if (!rp) return undefined;
  let perTryTimeoutMs: number | null = null;
  if (rp.perTryTimeout !== '') {
    const d = parseGoDuration(rp.perTryTimeout);
    // An unparsable perTryTimeout is ignored, as Contour does.
    if (d.ok && d.ms > 0) perTryTimeoutMs = d.ms;
  }
  let count = rp.count;
  if (count === -1) count = 0;
  else if (count === 0 || count === 1) count = 1;
  else if (count < 0) count = 0;
  return {
    retryOn: rp.retryOn.length > 0 ? [...rp.retryOn] : ['5xx'],
    count,
    perTryTimeoutMs,
    retriableStatusCodes: [...rp.retriableStatusCodes],
  };
}

/** Shared: a cluster's balancer settings are immutable data. */
const PLAIN_STRATEGIES: Record<string, { strategy: LoadBalancerStrategy; hashPolicies: HashPolicy[] }> = {
  RoundRobin: { strategy: 'RoundRobin', hashPolicies: [] },
  WeightedLeastRequest: { strategy: 'WeightedLeastRequest', hashPolicies: [] },
  Random: { strategy: 'Random', hashPolicies: [] },
  Cookie: { strategy: 'Cookie', hashPolicies: [] },
};
const NO_HEALTH_CHECK: { ok: true; value: undefined } = { ok: true, value: undefined };

const STRATEGIES = new Set(['WeightedLeastRequest', 'Random', 'Cookie', 'RequestHash']);

/** loadBalancerPolicy: the strategy, or "" for the default. */
export function strategyOf(lbp: NLoadBalancerPolicy | null): string {
  if (!lbp) return '';
  return STRATEGIES.has(lbp.strategy) ? lbp.strategy : '';
}

/** loadBalancerRequestHashPolicies: invalid hash policies become warnings. */
export function loadBalancer(
  lbp: NLoadBalancerPolicy | null,
  cond: Condition,
): { strategy: LoadBalancerStrategy; hashPolicies: HashPolicy[] } {
  const strategy = strategyOf(lbp);
  if (strategy !== 'RequestHash' || !lbp) {
    return PLAIN_STRATEGIES[strategy || 'RoundRobin']!;
  }
  const out: HashPolicy[] = [];
  let sourceIp = false;
  const headers = new Set<string>();
  const params = new Set<string>();
  for (const hp of lbp.requestHashPolicies) {
    const attrs = (hp.hashSourceIP ? 1 : 0) + (hp.headerHashOptions !== null ? 1 : 0) + (hp.queryParameterHashOptions !== null ? 1 : 0);
    if (attrs !== 1) {
      cond.addWarning('SpecError', 'IgnoredField', 'ignoring invalid request hash policy, must set exactly one of hashSourceIP or headerHashOptions or queryParameterHashOptions');
      continue;
    }
    const p: HashPolicy = {};
    if (hp.terminal) p.terminal = true;
    if (hp.hashSourceIP) {
      if (sourceIp) {
        cond.addWarning('SpecError', 'IgnoredField', 'ignoring invalid request hash policy, hashSourceIP specified multiple times');
        continue;
      }
      sourceIp = true;
      p.sourceIp = true;
    }
    if (hp.headerHashOptions !== null) {
      const name = canonicalHeaderKey(hp.headerHashOptions.headerName);
      if (!validHeaderName(name)) {
        cond.addWarning('SpecError', 'IgnoredField', `ignoring invalid header hash policy options with invalid header name "${name}": ${HEADER_NAME_MSG}`);
        continue;
      }
      if (headers.has(name)) {
        cond.addWarning('SpecError', 'IgnoredField', `ignoring invalid header hash policy options with duplicated header name ${name}`);
        continue;
      }
      headers.add(name);
      p.header = name;
    }
    if (hp.queryParameterHashOptions !== null) {
      const name = hp.queryParameterHashOptions.parameterName.toLowerCase();
      if (name === '') {
        cond.addWarning('SpecError', 'IgnoredField', 'ignoring invalid query parameter hash policy options with an invalid empty query parameter name');
        continue;
      }
      if (params.has(name)) {
        cond.addWarning('SpecError', 'IgnoredField', `ignoring invalid query parameter hash policy options with duplicated query parameter name ${name}`);
        continue;
      }
      params.add(name);
      p.queryParameter = name;
    }
    out.push(p);
  }
  if (out.length === 0) {
    cond.addWarning('SpecError', 'IgnoredField', 'ignoring invalid request hash policy options, setting load balancer strategy to default RoundRobin');
    return { strategy: 'RoundRobin', hashPolicies: [] };
  }
  return { strategy: 'RequestHash', hashPolicies: out };
}

/** An HTTP health check with Envoy/Contour defaults; null with an error
 *  text when the policy cannot be used. */
export function httpHealthCheck(hc: NHealthCheck | null): { ok: true; value: HealthCheck | undefined } | { ok: false; error: string } {
  if (!hc) return NO_HEALTH_CHECK;
  if (hc.path === '') return { ok: false, error: 'route.healthCheckPolicy.path must be specified' };
  const expected = hc.expectedStatuses.length > 0 ? hc.expectedStatuses : [{ start: 200, end: 201 }];
  for (const r of expected) {
    if (r.start < 100 || r.end > 600 || r.start >= r.end) {
      return { ok: false, error: `route.healthCheckPolicy.expectedStatuses: invalid range [${r.start}, ${r.end}): must satisfy 100 <= start < end <= 600` };
    }
  }
  return {
    ok: true,
    value: {
      path: hc.path,
      host: hc.host || 'contour-envoy-healthcheck',
      intervalMs: (hc.intervalSeconds > 0 ? hc.intervalSeconds : 10) * 1000,
      timeoutMs: (hc.timeoutSeconds > 0 ? hc.timeoutSeconds : 2) * 1000,
      unhealthyThreshold: hc.unhealthyThresholdCount > 0 ? hc.unhealthyThresholdCount : 3,
      healthyThreshold: hc.healthyThresholdCount > 0 ? hc.healthyThresholdCount : 2,
      expectedStatuses: expected.map((r) => ({ start: r.start, end: r.end })),
    },
  };
}

/** Contour's tcpHealthCheckPolicy with Envoy's defaults (0: default);
 *  undefined when the TCPProxy sets none. */
export function tcpHealthCheck(hc: NTcpHealthCheck | null): TcpHealthCheck | undefined {
  if (!hc) return undefined;
  return {
    intervalMs: (hc.intervalSeconds > 0 ? hc.intervalSeconds : 10) * 1000,
    timeoutMs: (hc.timeoutSeconds > 0 ? hc.timeoutSeconds : 2) * 1000,
    unhealthyThreshold: hc.unhealthyThresholdCount > 0 ? hc.unhealthyThresholdCount : 3,
    healthyThreshold: hc.healthyThresholdCount > 0 ? hc.healthyThresholdCount : 2,
  };
}
