// An HTTPRoute rule's CORS filter (HTTPCORSFilter) as the proxy's CORS
// policy, the one HTTPProxy's corsPolicy fills. Origins follow the spec:
// `<scheme>://<host>(:<port>)`, a `*` in the host standing for any number
// of labels to its left, no port meaning the scheme's (80, 443), and "*"
// alone every origin. maxAge defaults to 5 seconds (the spec's default).
import type { CorsConfig, CorsOrigin } from './cors-config.ts';
import { arr, rec } from './safe.ts';

const ORIGIN = /^(https?):\/\/((?:\*\.)?(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(?::([0-9]{1,5}))?$/;
const TOKEN = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '*']);

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\-]/g, '\\$&');

/** One allowOrigins entry as a full-match regex (or "*"); a string is the problem. */
function origin(value: unknown): CorsOrigin | string {
  if (value === '*') return { kind: 'exact', value: '*' };
  const m = typeof value === 'string' ? ORIGIN.exec(value) : null;
  if (!m) return `allowOrigins: ${JSON.stringify(value)} is not "*" or <scheme>://<host>(:<port>) with scheme http or https`;
  const [, scheme, host, port] = m as unknown as [string, string, string, string | undefined];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `allowOrigins: ${JSON.stringify(value)} has a port outside 1-65535`;
  const hostRe = host.split('*').map(escape).join('[A-Za-z0-9.-]+');
  const portRe = port !== undefined ? `:${port}` : `(:${scheme === 'https' ? 443 : 80})?`;
  return { kind: 'regex', value: `${scheme}://${hostRe}${portRe}` };
}

function list(raw: unknown, field: string, ok: (v: string) => boolean): string[] | string {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return `${field} must be a list`;
  const out: string[] = [];
  for (const v of raw) {
    if (typeof v !== 'string' || !ok(v)) return `${field}: ${JSON.stringify(v)} is not valid`;
    out.push(v);
  }
  if (out.includes('*') && out.length > 1) return `${field} cannot contain '*' alongside other values`;
  return out;
}

/** The filter's `cors` as the proxy's CorsConfig, or the problem in words. */
export function gatewayCors(raw: unknown): CorsConfig | string {
  const c = rec(raw);
  if (!c) return 'cors must be an object';
  const allowOrigin: CorsOrigin[] = [];
  const origins = arr(c.allowOrigins);
  if (c.allowOrigins !== undefined && !Array.isArray(c.allowOrigins)) return 'allowOrigins must be a list';
  for (const o of origins) {
    const x = origin(o);
    if (typeof x === 'string') return x;
    allowOrigin.push(x);
  }
  if (origins.includes('*') && origins.length > 1) return "allowOrigins cannot contain '*' alongside other values";
  const methods = list(c.allowMethods, 'allowMethods', (v) => METHODS.has(v));
  if (typeof methods === 'string') return methods;
  const allowHeaders = list(c.allowHeaders, 'allowHeaders', (v) => TOKEN.test(v));
  if (typeof allowHeaders === 'string') return allowHeaders;
  const exposeHeaders = list(c.exposeHeaders, 'exposeHeaders', (v) => TOKEN.test(v));
  if (typeof exposeHeaders === 'string') return exposeHeaders;
  if (c.allowCredentials !== undefined && typeof c.allowCredentials !== 'boolean') return 'allowCredentials must be true or false';
  let maxAge = 5;
  if (c.maxAge !== undefined) {
    if (typeof c.maxAge !== 'number' || !Number.isInteger(c.maxAge) || c.maxAge < 1 || c.maxAge > 2_147_483_647) return `maxAge: ${JSON.stringify(c.maxAge)} is not a whole number of seconds of at least 1`;
    maxAge = c.maxAge;
  }
  return {
    allowOrigin,
    allowMethods: methods.join(','),
    allowHeaders: allowHeaders.join(','),
    exposeHeaders: exposeHeaders.join(','),
    maxAge: String(maxAge),
    allowCredentials: c.allowCredentials === true,
    allowPrivateNetwork: false,
    exposeOnPreflight: true,
  };
}
