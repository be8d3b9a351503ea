// A virtual host's CORS policy, as Envoy's CORS filter applies it
// (source/extensions/filters/http/cors/cors_filter.cc): a request with an
// Origin the policy allows is a CORS request; a preflight from an allowed
// origin (OPTIONS with Access-Control-Request-Method) is answered at the
// edge with 200, and responses to other CORS requests carry
// Access-Control-Allow-Origin (and credentials / exposed headers). A
// preflight from an origin the policy does not allow is forwarded to the
// upstream untouched, as Envoy's forward_not_matching_preflights default.
import type { CorsConfig } from '../dag/index.ts';
import { fullMatch } from './matchers.ts';

export interface CompiledCors {
  config: CorsConfig;
  origins: ((origin: string) => boolean)[];
}

export function compileCors(c: CorsConfig): CompiledCors {
  const origins = c.allowOrigin.map((o) => {
    if (o.kind === 'exact') {
      const want = o.value.toLowerCase();
      return (v: string) => v.toLowerCase() === want;
    }
    const re = fullMatch(o.value, false);
    return (v: string) => re.test(v);
  });
  return { config: c, origins };
}

/** isOriginAllowed: a matcher that matches "*" allows every origin. */
export function originAllowed(c: CompiledCors, origin: string): boolean {
  for (const m of c.origins) if (m('*') || m(origin)) return true;
  return false;
}

type Headers = Record<string, string | string[] | undefined>;

function one(h: Headers, name: string): string {
  const v = h[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : '';
}

export type CorsDecision =
  /** Not a CORS request, or its origin is not allowed: nothing to add. */
  | { kind: 'none' }
  /** Answer the preflight with 200 and these headers; nothing goes upstream. */
  | { kind: 'preflight'; headers: Record<string, string> }
  /** Add these headers to the response, whoever writes it. */
  | { kind: 'response'; headers: Record<string, string> };

const NONE: CorsDecision = { kind: 'none' };

export function corsDecision(c: CompiledCors, method: string, h: Headers): CorsDecision {
  const origin = one(h, 'origin');
  if (origin === '' || !originAllowed(c, origin)) return NONE;
  const cfg = c.config;
  const requestMethod = method === 'OPTIONS' ? one(h, 'access-control-request-method') : '';
  if (requestMethod === '') {
    const headers: Record<string, string> = { 'access-control-allow-origin': origin };
    if (cfg.allowCredentials) headers['access-control-allow-credentials'] = 'true';
    if (cfg.exposeHeaders !== '') headers['access-control-expose-headers'] = cfg.exposeHeaders;
    return { kind: 'response', headers };
  }
  const headers: Record<string, string> = { 'access-control-allow-origin': origin };
  if (cfg.allowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (cfg.allowMethods !== '') headers['access-control-allow-methods'] = cfg.allowMethods === '*' ? requestMethod : cfg.allowMethods;
  if (cfg.allowHeaders !== '') {
    const asked = one(h, 'access-control-request-headers');
    if (cfg.allowHeaders !== '*') headers['access-control-allow-headers'] = cfg.allowHeaders;
    else if (asked !== '') headers['access-control-allow-headers'] = asked;
  }
  if (cfg.exposeOnPreflight && cfg.exposeHeaders !== '') headers['access-control-expose-headers'] = cfg.exposeHeaders;
  if (cfg.maxAge !== '') headers['access-control-max-age'] = cfg.maxAge;
  if (cfg.allowPrivateNetwork && one(h, 'access-control-request-private-network') === 'true') {
    headers['access-control-allow-private-network'] = 'true';
  }
  return { kind: 'preflight', headers };
}
