// Contour's expandPrefixMatches (rule 59).
import type { Route } from './proxy-config.ts';

/** expandPrefixMatches: a prefix rewrite on `/foo` also gets a `/foo/`
 *  twin so neither `/foosball` nor `/foo/v1` rewrite into double slashes. */
export function expandPrefixMatches(routes: Route[]): Route[] {
  // Only routes with a prefix rewrite are ever expanded.
  if (!routes.some((r) => r.prefixRewrite !== undefined)) return routes;
  const groups = new Map<string, Route[]>();
  const out: Route[] = [];
  for (const r of routes) {
    if (r.path.kind !== 'prefix') {
      out.push(r);
      continue;
    }
    const p = r.path.value === '/' ? '/' : r.path.value.replace(/\/+$/, '');
    const g = groups.get(p);
    if (g) g.push(r);
    else groups.set(p, [r]);
  }
  for (const [prefix, group] of groups) {
    out.push(...group);
    if (group.length !== 1) continue;
    const r = group[0]!;
    if (r.prefixRewrite === undefined || r.path.value === '/') continue;
    const trimmed = r.prefixRewrite.replace(/\/+$/, '');
    const twin: Route = { ...r, path: { kind: 'prefix', value: `${prefix}/` }, prefixRewrite: `${trimmed}/` };
    r.path = { kind: 'prefix', value: prefix };
    r.prefixRewrite = trimmed === '' ? '/' : trimmed;
    out.push(twin);
  }
  return out;
}
