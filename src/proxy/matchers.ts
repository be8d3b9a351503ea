// Precompiled route conditions (path, headers, query parameters), evaluated
// in ProxyConfig order on every request: no allocation unless a route asks
// for query parameters.
import type { HeaderMatch, PathMatch, QueryMatch } from '../dag/index.ts';

/** What a matcher may look at in a request. */
export interface RequestView {
  /** Path without the query string. */
  path: string;
  /** Text after '?', or "". */
  query: string;
  /** Header value (lower-case name); several values joined with ",". */
  header(name: string): string | undefined;
}

export type Predicate = (r: RequestView) => boolean;

export function compilePath(m: PathMatch): Predicate {
  const v = m.value;
  switch (m.kind) {
    case 'prefix': {
      if (v === '/' || v === '') return () => true;
      if (!m.segment) return (r) => r.path.startsWith(v);
      const dir = v.endsWith('/') ? v : `${v}/`;
      return (r) => r.path === v || r.path.startsWith(dir);
    }
    case 'exact':
      return (r) => r.path === v;
    case 'regex': {
      const re = fullMatch(v, false);
      return (r) => re.test(r.path);
    }
  }
}

/** Envoy regexes match the whole value (RE2 full match). The RE2 spellings
 *  JavaScript lacks are translated: leading (?flags) and (?P<name>...). */
export function fullMatch(source: string, ignoreCase: boolean): RegExp {
  let src = source;
  let flags = ignoreCase ? 'si' : 's';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    src = src.slice(lead[0].length);
    for (const f of lead[1]!) if ((f === 'i' || f === 'm') && !flags.includes(f)) flags += f;
  }
  src = src.replace(/\(\?P</g, '(?<');
  return new RegExp(`^(?:${src})$`, flags);
}

export function compileHeader(m: HeaderMatch): Predicate {
  const name = m.name.toLowerCase();
  const ic = m.ignoreCase === true;
  const want = m.value ?? '';
  const wantCmp = ic ? want.toLowerCase() : want;
  const norm = ic ? (s: string) => s.toLowerCase() : (s: string) => s;
  const missing = m.treatMissingAsEmpty === true ? '' : undefined;
  switch (m.kind) {
    case 'present':
      return (r) => r.header(name) !== undefined;
    case 'notpresent':
      return (r) => r.header(name) === undefined;
    case 'exact':
      return (r) => {
        const v = r.header(name);
        return v !== undefined && norm(v) === wantCmp;
      };
    case 'notexact':
      return (r) => {
        const v = r.header(name) ?? missing;
        return v !== undefined && norm(v) !== wantCmp;
      };
    case 'contains':
      return (r) => {
        const v = r.header(name);
        return v !== undefined && norm(v).includes(wantCmp);
      };
    case 'notcontains':
      return (r) => {
        const v = r.header(name) ?? missing;
        return v !== undefined && !norm(v).includes(wantCmp);
      };
    case 'regex': {
      const re = fullMatch(want, ic);
      return (r) => {
        const v = r.header(name);
        return v !== undefined && re.test(v);
      };
    }
  }
}

/** First value of a query parameter, decoded; undefined when absent. */
export function queryParam(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const eq = query.indexOf('=', start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (decode(query.slice(start, keyEnd)) === name) {
      return keyEnd === end ? '' : decode(query.slice(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return undefined;
}

function decode(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export function compileQuery(m: QueryMatch): Predicate {
  const name = m.name;
  const ic = m.ignoreCase === true;
  const want = ic ? (m.value ?? '').toLowerCase() : (m.value ?? '');
  const get = (r: RequestView): string | undefined => {
    const v = queryParam(r.query, name);
    return v !== undefined && ic ? v.toLowerCase() : v;
  };
  switch (m.kind) {
    case 'present':
      return (r) => get(r) !== undefined;
    case 'exact':
      return (r) => get(r) === want;
    case 'prefix':
      return (r) => get(r)?.startsWith(want) === true;
    case 'suffix':
      return (r) => get(r)?.endsWith(want) === true;
    case 'contains':
      return (r) => get(r)?.includes(want) === true;
    case 'regex': {
      const re = fullMatch(m.value ?? '', ic);
      return (r) => {
        const v = queryParam(r.query, name);
        return v !== undefined && re.test(v);
      };
    }
  }
}
