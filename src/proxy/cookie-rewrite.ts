// Set-Cookie rewriting for a route's or service's cookieRewritePolicies, as
// Contour's Lua response filter does it: a cookie named by a rule gets its
// Path, Domain and SameSite replaced (or added) and Secure added or
// removed; every other cookie, and a Set-Cookie without "=", is passed on
// as it came. Attributes keep their place; names compare without regard
// to case (the Lua script's table order is not defined).
import type { CookieRewrite } from '../dag/index.ts';

export type CompiledCookieRewrites = ReadonlyMap<string, CookieRewrite>;

export function compileCookieRewrites(rules: readonly CookieRewrite[] | undefined): CompiledCookieRewrites | undefined {
  if (rules === undefined || rules.length === 0) return undefined;
  return new Map(rules.map((r) => [r.name, r]));
}

/** One Set-Cookie value after the rules. */
export function rewriteSetCookie(original: string, rules: CompiledCookieRewrites): string {
  const eq = original.indexOf('=');
  if (eq < 0) return original;
  const rule = rules.get(original.slice(0, eq));
  if (rule === undefined) return original;
  const parts = original.split(';');
  const head = parts[0]!;
  const attrs: { key: string; text: string }[] = [];
  for (let i = 1; i < parts.length; i++) {
    const text = parts[i]!.trim();
    if (text === '') continue;
    const at = text.indexOf('=');
    attrs.push({ key: (at < 0 ? text : text.slice(0, at)).trim().toLowerCase(), text });
  }
  const put = (key: string, text: string | undefined): void => {
    const i = attrs.findIndex((a) => a.key === key);
    if (text === undefined) {
      if (i >= 0) attrs.splice(i, 1);
    } else if (i >= 0) attrs[i] = { key, text };
    else attrs.push({ key, text });
  };
  if (rule.path !== undefined) put('path', `Path=${rule.path}`);
  if (rule.domain !== undefined) put('domain', `Domain=${rule.domain}`);
  if (rule.sameSite !== undefined) put('samesite', `SameSite=${rule.sameSite}`);
  if (rule.secure !== undefined) put('secure', rule.secure ? 'Secure' : undefined);
  let out = head;
  for (const a of attrs) out += `; ${a.text}`;
  return out;
}

/** Rewrites the Set-Cookie fields of a response header object in place. */
export function rewriteSetCookies(headers: Record<string, string | string[] | undefined>, rules: CompiledCookieRewrites): void {
  const v = headers['set-cookie'];
  if (v === undefined) return;
  headers['set-cookie'] = typeof v === 'string' ? rewriteSetCookie(v, rules) : v.map((c) => rewriteSetCookie(c, rules));
}
