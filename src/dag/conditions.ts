// Match conditions: validation with Contour's messages, and merging of the
// conditions inherited through includes with a route's own.
import type { HeaderMatch, PathMatch, QueryMatch } from './proxy-config.ts';
import type { NCond, NHeaderCond } from './model.ts';

/** Regexes are checked once per distinct source text. */
const regexCache = new Map<string, string | null>();

/** null when valid, else an error text in the shape of Go's regexp errors. */
export function regexError(re: string): string | null {
  const cached = regexCache.get(re);
  if (cached !== undefined) return cached;
  let err: string | null = null;
  // The proxy evaluates RE2 syntax; lookaround and backreferences are not RE2.
  if (/\(\?[=!]|\(\?<[=!]/.test(re)) err = `error parsing regexp: invalid or unsupported Perl syntax: \`${/\(\?<?[=!]/.exec(re)![0]}\``;
  else if (/\\[1-9]/.test(re)) err = `error parsing regexp: invalid escape sequence: \`${/\\[1-9]/.exec(re)![0]}\``;
  else {
    try {
      new RegExp(re);
    } catch (e) {
      // Shaped like Go's regexp errors: "<problem>: `<expr>`".
      const msg = (e as Error).message;
      const problem = msg.slice(msg.lastIndexOf(': ') + 2);
      err = `error parsing regexp: ${problem.charAt(0).toLowerCase()}${problem.slice(1)}: \`${re}\``;
    }
  }
  if (regexCache.size > 10_000) regexCache.clear();
  regexCache.set(re, err);
  return err;
}

/** pathMatchConditionsValid */
export function pathConditionsError(conds: NCond[]): string | null {
  let prefix = 0;
  let exact = 0;
  let regex = 0;
  for (const c of conds) {
    if (c.prefix !== '') {
      prefix++;
      if (c.prefix[0] !== '/') return `prefix conditions must start with /, ${c.prefix} was supplied`;
    }
    if (c.exact !== '') {
      exact++;
      if (c.exact[0] !== '/') return `exact conditions must start with /, ${c.exact} was supplied`;
    }
    if (c.regex !== '') {
      regex++;
      if (c.regex[0] !== '/') return `regex conditions must start with /, ${c.regex} was supplied`;
      const e = regexError(c.regex);
      if (e) return `supplied regex: ${c.regex} invalid. error: ${e}`;
    }
  }
  if (prefix + exact + regex > 1) return 'more than one prefix, exact or regex is not allowed in a condition block';
  return null;
}

/** includeMatchConditionsValid */
export function includeConditionsError(conds: NCond[]): string | null {
  for (const c of conds) {
    if (c.exact !== '') return 'exact conditions are not allowed in includes block';
    if (c.regex !== '') return 'regex conditions are not allowed in includes block';
  }
  return null;
}

function headerKey(h: Partial<NHeaderCond> & { name: string }): string {
  return [
    h.name,
    h.present ? 1 : 0,
    h.notpresent ? 1 : 0,
    h.contains ?? '',
    h.notcontains ?? '',
    h.exact ?? '',
    h.notexact ?? '',
    h.regex ?? '',
    h.ignoreCase ? 1 : 0,
    h.treatMissingAsEmpty ? 1 : 0,
  ].join('\u0000');
}

/** headerMatchConditionsValid */
export function headerConditionsError(conds: NCond[]): string | null {
  let count = 0;
  let only: NHeaderCond | null = null;
  for (const c of conds) {
    if (c.header) {
      count++;
      only = c.header;
    }
  }
  if (count === 0) return null;
  if (count === 1) {
    // Nothing to contradict: only a regex can be wrong (the switch below
    // checks regex last, after the other kinds).
    const h = only!;
    if (!h.present && !h.notpresent && h.exact === '' && h.notexact === '' && h.contains === '' && h.notcontains === '' && h.regex !== '' && regexError(h.regex)) {
      return "invalid regular expression specified for 'regex' condition";
    }
    return null;
  }
  const seen = new Set<string>();
  const exactSeen = new Set<string>();
  for (const c of conds) {
    const h = c.header;
    if (!h) continue;
    const name = h.name.toLowerCase();
    if (h.present) {
      if (seen.has(headerKey({ name, notpresent: true })))
        return "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header";
    } else if (h.notpresent) {
      if (seen.has(headerKey({ name, present: true })))
        return "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header";
    } else if (h.exact !== '') {
      if (exactSeen.has(name)) return "cannot specify duplicate header 'exact match' conditions in the same route";
      exactSeen.add(name);
      if (seen.has(headerKey({ name, notexact: h.exact })))
        return "cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header";
    } else if (h.notexact !== '') {
      if (seen.has(headerKey({ name, exact: h.notexact })))
        return "cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header";
    } else if (h.contains !== '') {
      if (seen.has(headerKey({ name, notcontains: h.contains })))
        return "cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header";
    } else if (h.notcontains !== '') {
      if (seen.has(headerKey({ name, contains: h.notcontains })))
        return "cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header";
    } else if (h.regex !== '') {
      if (regexError(h.regex)) return "invalid regular expression specified for 'regex' condition";
    }
    seen.add(headerKey({ ...h, name }));
  }
  return null;
}

/** queryParameterMatchConditionsValid */
export function queryConditionsError(conds: NCond[]): string | null {
  if (!conds.some((c) => c.queryParameter)) return null;
  const exactSeen = new Set<string>();
  for (const c of conds) {
    const q = c.queryParameter;
    if (!q) continue;
    const set = [q.exact, q.prefix, q.suffix, q.regex, q.contains].filter((m) => m !== '').length + (q.present ? 1 : 0);
    if (set === 0) return 'must specify at least one query parameter condition';
    if (set > 1) return 'cannot specify more than one condition in the same match condition branch';
    const name = q.name.toLowerCase();
    if (q.exact !== '') {
      if (exactSeen.has(name)) return "cannot specify duplicate query parameter 'exact match' conditions in the same route";
      exactSeen.add(name);
    }
    if (q.regex !== '' && regexError(q.regex)) return "invalid regular expression specified for 'regex' condition";
  }
  return null;
}

/** mergePathMatchConditions: concatenate root->leaf, collapse `//+`; the
 *  kind is regex if any regex, else taken from the last element. */
export function mergePath(conds: NCond[]): PathMatch {
  let merged = '';
  let isRegex = false;
  for (const c of conds) {
    if (c.prefix !== '') merged += c.prefix;
    else if (c.exact !== '') merged += c.exact;
    else if (c.regex !== '') {
      merged += c.regex;
      isRegex = true;
    }
  }
  if (merged.includes('//')) merged = merged.replace(/\/\/+/g, '/');
  if (merged === '' || conds.length === 0) return { kind: 'prefix', value: '/' };
  const last = conds[conds.length - 1]!;
  if (isRegex) return { kind: 'regex', value: merged };
  if (last.prefix !== '') return { kind: 'prefix', value: merged };
  if (last.exact !== '') return { kind: 'exact', value: merged };
  return { kind: 'prefix', value: merged };
}

export function mergeHeaders(conds: NCond[]): HeaderMatch[] {
  const out: HeaderMatch[] = [];
  for (const c of conds) {
    const h = c.header;
    if (!h) continue;
    const name = h.name.toLowerCase();
    if (h.present) out.push({ name, kind: 'present' });
    else if (h.notpresent) out.push({ name, kind: 'notpresent' });
    else if (h.contains !== '') out.push(withFlags({ name, kind: 'contains', value: h.contains }, h.ignoreCase, false));
    else if (h.notcontains !== '')
      out.push(withFlags({ name, kind: 'notcontains', value: h.notcontains }, h.ignoreCase, h.treatMissingAsEmpty));
    else if (h.exact !== '') out.push(withFlags({ name, kind: 'exact', value: h.exact }, h.ignoreCase, false));
    else if (h.notexact !== '')
      out.push(withFlags({ name, kind: 'notexact', value: h.notexact }, h.ignoreCase, h.treatMissingAsEmpty));
    else if (h.regex !== '') out.push({ name, kind: 'regex', value: h.regex });
  }
  return out;
}

function withFlags(m: HeaderMatch, ignoreCase: boolean, treatMissingAsEmpty: boolean): HeaderMatch {
  if (ignoreCase) m.ignoreCase = true;
  if (treatMissingAsEmpty) m.treatMissingAsEmpty = true;
  return m;
}

export function mergeQuery(conds: NCond[]): QueryMatch[] {
  const out: QueryMatch[] = [];
  for (const c of conds) {
    const q = c.queryParameter;
    if (!q) continue;
    let m: QueryMatch | null = null;
    if (q.exact !== '') m = { name: q.name, kind: 'exact', value: q.exact };
    else if (q.prefix !== '') m = { name: q.name, kind: 'prefix', value: q.prefix };
    else if (q.suffix !== '') m = { name: q.name, kind: 'suffix', value: q.suffix };
    else if (q.regex !== '') m = { name: q.name, kind: 'regex', value: q.regex };
    else if (q.contains !== '') m = { name: q.name, kind: 'contains', value: q.contains };
    else if (q.present) m = { name: q.name, kind: 'present' };
    if (!m) continue;
    if (q.ignoreCase && m.kind !== 'regex' && m.kind !== 'present') m.ignoreCase = true;
    out.push(m);
  }
  return out;
}

/** includeMatchConditionsIdentical: a stable key for an include's
 *  conditions, or null when they can never be duplicates (no conditions or
 *  a lone `prefix: /`). */
export function includeConditionsKey(conds: NCond[]): string | null {
  const path = mergePath(conds);
  const headers = mergeHeaders(conds);
  const query = mergeQuery(conds);
  if (path.value === '/' && headers.length === 0 && query.length === 0) return null;
  const hk = headers.map((h) => JSON.stringify([h.kind, h.ignoreCase ?? false, h.treatMissingAsEmpty ?? false, h.name, h.value ?? '']));
  const qk = query.map((q) => JSON.stringify([q.kind, q.ignoreCase ?? false, q.name, q.value ?? '']));
  hk.sort();
  qk.sort();
  return JSON.stringify([path.value, hk, qk]);
}
