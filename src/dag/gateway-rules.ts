// One HTTPRoute rule as proxy routes: each match becomes one route (a
// PathPrefix two: the exact path and everything under `path/`, since the
// Gateway API matches whole path segments), carrying the rule's filters,
// weighted backends and timeouts. Problems are recorded as the spec's route
// reasons: UnsupportedValue / IncompatibleFilters make the route not
// accepted, ResolvedRefs reasons leave it served with the unresolved
// backends' share of requests answered 500.
import type { HeaderMatch, HeaderOps, QueryMatch, RetryPolicyConfig, Route, RouteAction, WeightedCluster } from './proxy-config.ts';
import { DEFAULT_RESPONSE_TIMEOUT_MS } from './proxy-config.ts';
import { streamIdleMs } from './service-cluster.ts';
import type { CorsConfig } from './cors-config.ts';
import { resolveBackend, type BackendContext, type RefProblem } from './gateway-backends.ts';
import { gatewayCors } from './gateway-cors.ts';
import { arr, int, rec, str, type Rec } from './safe.ts';

/** The precedence facts of one proxy route (gateway-precedence.ts). */
export interface RouteRank {
  /** 0 Exact, 1 PathPrefix, 2 RegularExpression. */
  pathKind: number;
  pathLength: number;
  method: boolean;
  headers: number;
  queries: number;
  ruleIndex: number;
  matchIndex: number;
}

export interface RuleRoutes {
  routes: { route: Route; rank: RouteRank }[];
}

export interface RuleProblems {
  /** Makes the route not accepted (Accepted False with this reason). */
  accepted?: { reason: 'UnsupportedValue' | 'IncompatibleFilters'; message: string };
  /** The first unresolved reference (ResolvedRefs False). */
  refs?: RefProblem;
}

const SUPPORTED_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror', 'CORS']);
const BACKEND_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier']);

/** Gateway API Duration ("1h", "10s", "500ms", "1m30s"): ms, or null when malformed. */
export function gatewayDuration(s: string): number | null {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(/([0-9]+)(ms|h|m|s)/g)) {
    const n = Number(m[1]);
    ms += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
  }
  return ms;
}

function regexProblem(source: string): string | null {
  try {
    new RegExp(source.replace(/\(\?P</g, '(?<'));
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function headerOps(raw: unknown): HeaderOps {
  const f = rec(raw);
  const ops: HeaderOps = { set: [], remove: [] };
  if (!f) return ops;
  for (const h of arr(f.set)) ops.set.push({ name: str(rec(h)?.name), value: str(rec(h)?.value) });
  const add = arr(f.add).map((h) => ({ name: str(rec(h)?.name), value: str(rec(h)?.value) }));
  if (add.length > 0) ops.add = add;
  for (const n of arr(f.remove)) ops.remove.push(str(n));
  return ops;
}

function mergeOps(a: HeaderOps, b: HeaderOps): HeaderOps {
  const out: HeaderOps = { set: [...a.set, ...b.set], remove: [...a.remove, ...b.remove] };
  const add = [...(a.add ?? []), ...(b.add ?? [])];
  if (add.length > 0) out.add = add;
  return out;
}

interface Filters {
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  redirect?: Rec;
  rewrite?: Rec;
  mirrors: { cluster: string; percent: number }[];
  cors?: CorsConfig;
}

function readFilters(list: unknown[], ctx: BackendContext, routeNs: string, problems: RuleProblems, allowed: Set<string>, where: string, routeKind: 'HTTPRoute' | 'GRPCRoute'): Filters {
  const f: Filters = { requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] }, mirrors: [] };
  const seen = new Set<string>();
  for (const raw of list) {
    const r = rec(raw) ?? {};
    const type = str(r.type);
    if (!allowed.has(type)) {
      problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}filter type "${type}" is not supported` };
      continue;
    }
    if (seen.has(type) && type !== 'RequestMirror') {
      problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}filter "${type}" appears more than once` };
      continue;
    }
    seen.add(type);
    switch (type) {
      case 'RequestHeaderModifier':
        f.requestHeaders = mergeOps(f.requestHeaders, headerOps(r.requestHeaderModifier));
        break;
      case 'ResponseHeaderModifier':
        f.responseHeaders = mergeOps(f.responseHeaders, headerOps(r.responseHeaderModifier));
        break;
      case 'RequestRedirect':
        f.redirect = rec(r.requestRedirect) ?? {};
        break;
      case 'URLRewrite':
        f.rewrite = rec(r.urlRewrite) ?? {};
        break;
      case 'CORS': {
        const cors = gatewayCors(r.cors);
        if (typeof cors === 'string') problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}CORS filter: ${cors}` };
        else f.cors = cors;
        break;
      }
      case 'RequestMirror': {
        // Several mirror filters: a copy to each (HTTPRouteRequestMultipleMirrors).
        const m = rec(r.requestMirror) ?? {};
        const b = resolveBackend(ctx, m.backendRef, routeNs, routeKind, routeKind === 'GRPCRoute' ? 'h2c' : undefined);
        if ('reason' in b) {
          problems.refs ??= b;
          break;
        }
        if ('unreachable' in b) break; // never mirrored unvalidated
        let percent = 100;
        const frac = rec(m.fraction);
        if (typeof m.percent === 'number') percent = int(m.percent);
        else if (frac) percent = Math.max(0, Math.min(100, (int(frac.numerator) * 100) / Math.max(1, typeof frac.denominator === 'number' ? int(frac.denominator) : 100)));
        f.mirrors.push({ cluster: b.cluster, percent });
        break;
      }
    }
  }
  if (f.redirect && f.rewrite) problems.accepted ??= { reason: 'IncompatibleFilters', message: `${where}RequestRedirect and URLRewrite cannot be used together` };
  return f;
}

interface PathVariant {
  path: Route['path'];
  /** For a rewrite of the matched prefix: the prefix this variant matched. */
  prefixOf?: string;
}

/** The proxy path matches of one Gateway path match. */
function pathVariants(type: string, value: string): PathVariant[] {
  if (type === 'Exact') return [{ path: { kind: 'exact', value } }];
  if (type === 'RegularExpression') return [{ path: { kind: 'regex', value } }];
  const base = value === '/' ? '/' : value.replace(/\/+$/, '');
  if (base === '/' || base === '') return [{ path: { kind: 'prefix', value: '/' }, prefixOf: '/' }];
  return [{ path: { kind: 'exact', value: base }, prefixOf: base }, { path: { kind: 'prefix', value: `${base}/` }, prefixOf: base }];
}

/** ReplacePrefixMatch for one variant: the exact path is replaced whole,
 *  the `prefix/` variant keeps what follows the prefix. */
function prefixReplacement(v: PathVariant, replacement: string): { full?: string; prefix?: string } {
  if (v.path.kind === 'exact') return { full: replacement === '' ? '/' : replacement };
  if (v.path.value === '/') return { prefix: replacement.endsWith('/') ? replacement : `${replacement}/` };
  return { prefix: replacement.endsWith('/') ? replacement : `${replacement}/` };
}

export interface RuleInput {
  rule: Rec;
  ruleIndex: number;
  routeNs: string;
  routeName: string;
  /** HTTPRoute, or GRPCRoute (its backends speak h2c). */
  routeKind: 'HTTPRoute' | 'GRPCRoute';
}

/** The proxy routes of one rule; problems are added to `problems`. */
export function ruleRoutes(input: RuleInput, ctx: BackendContext, problems: RuleProblems): RuleRoutes {
  const { rule, ruleIndex, routeNs, routeName, routeKind } = input;
  const mode = routeKind === 'GRPCRoute' ? 'h2c' : undefined;
  const where = `rules[${ruleIndex}]: `;
  const retry = rule.retry === undefined ? undefined : routeRetry(rule.retry, where, problems);
  if (rule.sessionPersistence !== undefined) problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}sessionPersistence is not supported` };
  const filters = readFilters(arr(rule.filters), ctx, routeNs, problems, SUPPORTED_FILTERS, where, routeKind);

  // Timeouts: without retry, the route timeout is the backend request's
  // when set (isobar sends one request per attempt), else the request's;
  // with retry, backendRequest bounds each try and request all of them.
  // "0s" disables either.
  const t = rec(rule.timeouts);
  const timeout: Record<string, number | null> = {};
  for (const key of ['request', 'backendRequest']) {
    if (typeof t?.[key] !== 'string') continue;
    const ms = gatewayDuration(t[key] as string);
    if (ms === null) problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}timeouts.${key} "${t[key] as string}" is not a Gateway API duration` };
    else timeout[key] = ms === 0 ? null : ms;
  }
  let responseMs: number | null = DEFAULT_RESPONSE_TIMEOUT_MS;
  if (retry) {
    const perTry = timeout.backendRequest;
    if (perTry !== undefined) retry.perTryTimeoutMs = perTry;
    if ('request' in timeout) responseMs = timeout.request!;
    else if (perTry === null) responseMs = null; // tries without a bound: so is the whole
    else if (perTry !== undefined) responseMs = Math.max(DEFAULT_RESPONSE_TIMEOUT_MS, perTry);
  } else if ('backendRequest' in timeout) responseMs = timeout.backendRequest!;
  else if ('request' in timeout) responseMs = timeout.request!;

  // Weighted backends; an unresolved one keeps its share and answers 500.
  const clusters: WeightedCluster[] = [];
  for (const [i, raw] of arr(rule.backendRefs).entries()) {
    const b = rec(raw) ?? {};
    const weight = typeof b.weight === 'number' ? int(b.weight) : 1;
    const bf = readFilters(arr(b.filters), ctx, routeNs, problems, BACKEND_FILTERS, `${where}backendRefs[${i}]: `, routeKind);
    const resolved = resolveBackend(ctx, b, routeNs, routeKind, mode);
    if ('reason' in resolved || 'unreachable' in resolved) {
      if ('reason' in resolved) problems.refs ??= resolved;
      if (weight > 0) clusters.push({ cluster: '', weight, requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] }, directStatus: 500 });
      continue;
    }
    clusters.push({ cluster: resolved.cluster, weight, requestHeaders: bf.requestHeaders, responseHeaders: bf.responseHeaders });
  }

  const matches = arr(rule.matches).map((m) => rec(m) ?? {});
  if (matches.length === 0) matches.push({});
  const out: RuleRoutes = { routes: [] };
  for (const [matchIndex, m] of matches.entries()) {
    const p = rec(m.path);
    const type = typeof p?.type === 'string' ? p.type : 'PathPrefix';
    const value = typeof p?.value === 'string' ? p.value : '/';
    if (type !== 'RegularExpression' && !value.startsWith('/')) {
      problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}path "${value}" must start with "/"` };
      continue;
    }
    if (type === 'RegularExpression') {
      const bad = regexProblem(value);
      if (bad) {
        problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}path regular expression "${value}": ${bad}` };
        continue;
      }
    }
    const headers: HeaderMatch[] = [];
    const seenHeaders = new Set<string>();
    for (const h of arr(m.headers)) {
      const r = rec(h) ?? {};
      const name = str(r.name).toLowerCase();
      if (seenHeaders.has(name)) continue; // the first match of a name wins (spec)
      seenHeaders.add(name);
      const regex = r.type === 'RegularExpression';
      const v = str(r.value);
      if (regex && regexProblem(v)) {
        problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}header "${name}" regular expression "${v}": ${regexProblem(v)}` };
        continue;
      }
      headers.push({ name, kind: regex ? 'regex' : 'exact', value: v });
    }
    const queryParams: QueryMatch[] = [];
    const seenQuery = new Set<string>();
    for (const q of arr(m.queryParams)) {
      const r = rec(q) ?? {};
      const name = str(r.name);
      if (seenQuery.has(name)) continue;
      seenQuery.add(name);
      const regex = r.type === 'RegularExpression';
      const v = str(r.value);
      if (regex && regexProblem(v)) {
        problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}query parameter "${name}" regular expression "${v}": ${regexProblem(v)}` };
        continue;
      }
      queryParams.push({ name, kind: regex ? 'regex' : 'exact', value: v });
    }
    const method = typeof m.method === 'string' ? m.method : '';
    if (method !== '') headers.push({ name: ':method', kind: 'exact', value: method });

    const rewritePath = rec(filters.rewrite?.path);
    const redirectPath = rec(filters.redirect?.path);
    for (const pathModifier of [rewritePath, redirectPath]) {
      if (pathModifier && str(pathModifier.type) === 'ReplacePrefixMatch' && type !== 'PathPrefix') {
        problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}ReplacePrefixMatch needs a PathPrefix match` };
      }
    }
    for (const v of pathVariants(type, value)) {
      const route: Route = {
        path: v.path,
        headers,
        queryParams,
        action: action(filters, clusters, v),
        requestHeaders: filters.requestHeaders,
        responseHeaders: filters.responseHeaders,
        // Contour's Gateway listeners enable WebSocket upgrades for every
        // route (HTTPRouteBackendProtocolWebSocket relies on it).
        websocket: true,
        // Envoy's connection-manager stream idle timeout covers every route that sets none.
        timeouts: { responseMs, idleMs: streamIdleMs(ctx.config) },
        origin: { namespace: routeNs, name: routeName },
      };
      if (retry) route.retry = retry;
      if (filters.cors) route.cors = filters.cors;
      if (filters.rewrite) {
        const host = str(filters.rewrite.hostname);
        if (host !== '') route.hostRewrite = { literal: host };
        if (rewritePath) {
          if (str(rewritePath.type) === 'ReplaceFullPath') route.pathRewrite = str(rewritePath.replaceFullPath) || '/';
          else {
            const r = prefixReplacement(v, str(rewritePath.replacePrefixMatch));
            if (r.full !== undefined) route.pathRewrite = r.full;
            if (r.prefix !== undefined) route.prefixRewrite = r.prefix;
          }
        }
      }
      out.routes.push({
        route,
        rank: {
          pathKind: type === 'Exact' ? 0 : type === 'PathPrefix' ? 1 : 2,
          pathLength: value.length,
          method: method !== '',
          headers: headers.length - (method !== '' ? 1 : 0),
          queries: queryParams.length,
          ruleIndex,
          matchIndex,
        },
      });
    }
  }
  return out;
}

/** A rule's retry (HTTPRouteRetry): connection failures and resets are
 *  retried (and timed-out tries, with timeouts.backendRequest), responses
 *  only with a status in `codes`; `attempts` retries (1 when unset, Envoy's
 *  default), each at least `backoff` after the last try ended. */
function routeRetry(raw: unknown, where: string, problems: RuleProblems): RetryPolicyConfig | undefined {
  const r = rec(raw);
  const bad = (message: string): undefined => {
    problems.accepted ??= { reason: 'UnsupportedValue', message: `${where}retry${message}` };
    return undefined;
  };
  if (!r) return bad(' must be an object');
  const codes: number[] = [];
  if (r.codes !== undefined) {
    if (!Array.isArray(r.codes)) return bad('.codes must be a list of status codes');
    for (const c of r.codes) {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 400 || c > 599) return bad(`.codes: ${JSON.stringify(c)} is not a status code in 400-599`);
      if (!codes.includes(c)) codes.push(c);
    }
  }
  let count = 1;
  if (r.attempts !== undefined) {
    if (typeof r.attempts !== 'number' || !Number.isInteger(r.attempts) || r.attempts < 1) return bad(`.attempts: ${JSON.stringify(r.attempts)} is not an integer of at least 1`);
    count = r.attempts;
  }
  const policy: RetryPolicyConfig = { retryOn: ['connect-failure', 'reset'], count, perTryTimeoutMs: null, retriableStatusCodes: codes };
  if (codes.length > 0) policy.retryOn.push('retriable-status-codes');
  if (r.backoff !== undefined) {
    const ms = typeof r.backoff === 'string' ? gatewayDuration(r.backoff) : null;
    if (ms === null) return bad(`.backoff ${JSON.stringify(r.backoff)} is not a Gateway API duration`);
    if (ms > 0) policy.minBackoffMs = ms;
  }
  return policy;
}

function action(f: Filters, clusters: WeightedCluster[], v: PathVariant): RouteAction {
  if (f.redirect) {
    const r = f.redirect;
    const a: Extract<RouteAction, { kind: 'redirect' }> = { kind: 'redirect', statusCode: typeof r.statusCode === 'number' ? int(r.statusCode) : 302 };
    const scheme = str(r.scheme);
    if (scheme !== '') a.scheme = scheme;
    if (str(r.hostname) !== '') a.hostname = str(r.hostname);
    if (typeof r.port === 'number') a.port = int(r.port);
    else if (scheme !== '') a.port = scheme === 'https' ? 443 : 80; // the scheme's well-known port (spec)
    const p = rec(r.path);
    if (p && str(p.type) === 'ReplaceFullPath') a.path = str(p.replaceFullPath) || '/';
    else if (p && str(p.type) === 'ReplacePrefixMatch') {
      const x = prefixReplacement(v, str(p.replacePrefixMatch));
      if (x.full !== undefined) a.path = x.full;
      if (x.prefix !== undefined) a.prefix = x.prefix;
    }
    return a;
  }
  const total = clusters.reduce((n, c) => n + c.weight, 0);
  // No backends (or all weighted 0): the spec's 500.
  if (clusters.length === 0 || total === 0) return { kind: 'direct', statusCode: 500 };
  const a: Extract<RouteAction, { kind: 'forward' }> = { kind: 'forward', clusters };
  if (f.mirrors.length > 0) a.mirrors = f.mirrors;
  return a;
}
