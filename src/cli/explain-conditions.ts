// Route conditions in words, for `isobar explain`: what each one asks, and
// for the one the proxy's own matcher found false, why it did not hold.
// Which condition failed is the proxy's answer (its compiled predicates,
// run on the request); only the wording is made here.
import type { HeaderMatch, PathMatch, QueryMatch, Route } from '../dag/index.ts';

/** The route's conditions in the order the proxy compiles them: the path,
 *  then each header, then each query parameter (route-table.ts compileRoute). */
export type RouteCondition = { kind: 'path'; match: PathMatch } | { kind: 'header'; match: HeaderMatch } | { kind: 'query'; match: QueryMatch };

export function routeConditions(r: Route): RouteCondition[] {
  return [
    { kind: 'path', match: r.path },
    ...r.headers.map((match) => ({ kind: 'header' as const, match })),
    ...r.queryParams.map((match) => ({ kind: 'query' as const, match })),
  ];
}

const q = (s: string): string => JSON.stringify(s);

export function conditionText(c: RouteCondition): string {
  switch (c.kind) {
    case 'path':
      return `${c.match.kind} ${c.match.value || '/'}${c.match.segment ? ' (whole segments)' : ''}`;
    case 'header': {
      const m = c.match;
      const ic = m.ignoreCase ? ' (ignoring case)' : '';
      return m.kind === 'present' || m.kind === 'notpresent' ? `header ${m.name} ${m.kind}` : `header ${m.name} ${m.kind} ${q(m.value ?? '')}${ic}`;
    }
    case 'query': {
      const m = c.match;
      const ic = m.ignoreCase ? ' (ignoring case)' : '';
      return m.kind === 'present' ? `query ${m.name} present` : `query ${m.name} ${m.kind} ${q(m.value ?? '')}${ic}`;
    }
  }
}

export function conditionsText(r: Route): string {
  return routeConditions(r).map(conditionText).join(', ');
}

/** Why `c` did not hold for a request with this path, header and query values. */
export function whyNot(c: RouteCondition, path: string, header: (name: string) => string | undefined, query: (name: string) => string | undefined): string {
  switch (c.kind) {
    case 'path': {
      const v = c.match.value;
      if (c.match.kind === 'prefix' && c.match.segment) return `path ${q(path)} is neither ${q(v)} nor under ${q(`${v}/`)}`;
      if (c.match.kind === 'prefix') return `path ${q(path)} does not start with ${q(v)}`;
      if (c.match.kind === 'exact') return `path ${q(path)} is not ${q(v)}`;
      return `path ${q(path)} does not match the regex ${q(v)} (whole path)`;
    }
    case 'header': {
      const m = c.match;
      const got = header(m.name);
      const seen = got === undefined ? `header ${m.name} is absent` : `header ${m.name} is ${q(got)}`;
      switch (m.kind) {
        case 'present':
          return seen;
        case 'notpresent':
          return `header ${m.name} is present (${q(got ?? '')})`;
        case 'exact':
          return `${seen}, not ${q(m.value ?? '')}${m.ignoreCase ? ' (ignoring case)' : ''}`;
        case 'notexact':
          return got === undefined ? `${seen} (and treatMissingAsEmpty is not set)` : `${seen}, which it must not be`;
        case 'contains':
          return got === undefined ? seen : `${seen}, which does not contain ${q(m.value ?? '')}`;
        case 'notcontains':
          return got === undefined ? `${seen} (and treatMissingAsEmpty is not set)` : `${seen}, which contains ${q(m.value ?? '')}`;
        case 'regex':
          return got === undefined ? seen : `${seen}, which does not match the regex ${q(m.value ?? '')}`;
      }
      return seen;
    }
    case 'query': {
      const m = c.match;
      const got = query(m.name);
      if (got === undefined) return `query parameter ${m.name} is absent`;
      const seen = `query parameter ${m.name} is ${q(got)}`;
      const verb = { exact: 'is not', prefix: 'does not start with', suffix: 'does not end with', contains: 'does not contain', regex: 'does not match the regex', present: '' }[m.kind];
      return `${seen}, which ${verb} ${q(m.value ?? '')}`;
    }
  }
}
