// cookieRewritePolicies on routes and services (Contour's
// cookieRewritePolicies in internal/dag/policy.go): the checks, with
// Contour's messages, and the merge its Envoy translation makes (the
// route's rules, then the service's, attribute by attribute).
import type { NCookieRewrite } from './model.ts';
import type { CookieRewrite } from './route-policies-config.ts';
import { goQuote } from './go-url.ts';
import { arr, bool, rec, str } from './safe.ts';

export function readCookieRewritePolicies(raw: unknown): NCookieRewrite[] {
  const list = arr(raw);
  if (list.length === 0) return [];
  return list.map((e) => {
    const r = rec(e) ?? {};
    const path = rec(r.pathRewrite);
    const domain = rec(r.domainRewrite);
    return {
      name: str(r.name),
      pathRewrite: path ? { value: str(path.value) } : null,
      domainRewrite: domain ? { value: str(domain.value) } : null,
      secure: typeof r.secure === 'boolean' ? bool(r.secure) : null,
      sameSite: typeof r.sameSite === 'string' ? r.sameSite : null,
    };
  });
}

export type CookieRewriteResult = { ok: true; value: CookieRewrite[] } | { ok: false; error: string };

const NONE: CookieRewriteResult = { ok: true, value: [] };

/** Contour's cookieRewritePolicies(): names unique, at least one attribute each. */
export function cookieRewritePolicies(policies: readonly NCookieRewrite[]): CookieRewriteResult {
  if (policies.length === 0) return NONE;
  const names = new Set<string>();
  const out: CookieRewrite[] = [];
  for (const p of policies) {
    if (names.has(p.name)) return { ok: false, error: `duplicate cookie rewrite rule for cookie ${goQuote(p.name)}` };
    names.add(p.name);
    const c: CookieRewrite = { name: p.name };
    if (p.pathRewrite !== null) c.path = p.pathRewrite.value;
    if (p.domainRewrite !== null) c.domain = p.domainRewrite.value;
    if (p.secure !== null) c.secure = p.secure;
    if (p.sameSite !== null) c.sameSite = p.sameSite as CookieRewrite['sameSite'];
    if (Object.keys(c).length === 1) return { ok: false, error: `no attributes rewritten for cookie ${goQuote(p.name)}` };
    out.push(c);
  }
  return { ok: true, value: out };
}

/** The rules a service's responses get: the route's, then the service's
 *  over them for the same cookie (Contour's cookieRewriteConfig). */
export function mergeCookieRewrites(route: readonly CookieRewrite[], service: readonly CookieRewrite[]): CookieRewrite[] {
  if (service.length === 0) return route as CookieRewrite[];
  if (route.length === 0) return service as CookieRewrite[];
  const byName = new Map<string, CookieRewrite>();
  for (const p of [...route, ...service]) byName.set(p.name, { ...byName.get(p.name), ...p });
  return [...byName.values()];
}
