// Route precedence, as Contour's route sorter orders Envoy routes: exact
// paths first, then regexes, then prefixes; within a kind, reverse
// lexical order (so a longer path sharing a prefix comes first); then
// routes with more header matches, then more query matches.
import type { Route } from './proxy-config.ts';

const KIND_RANK = { exact: 0, regex: 1, prefix: 2 } as const;

function compare(a: Route, b: Route): number {
  const ka = KIND_RANK[a.path.kind];
  const kb = KIND_RANK[b.path.kind];
  if (ka !== kb) return ka - kb;
  if (a.path.value !== b.path.value) return a.path.value > b.path.value ? -1 : 1;
  if (a.headers.length !== b.headers.length) return b.headers.length - a.headers.length;
  if (a.queryParams.length !== b.queryParams.length) return b.queryParams.length - a.queryParams.length;
  // Same specificity: a stable, content-based order keeps builds deterministic.
  const ha = JSON.stringify([a.headers, a.queryParams]);
  const hb = JSON.stringify([b.headers, b.queryParams]);
  return ha < hb ? -1 : ha > hb ? 1 : 0;
}

export function sortRoutes(routes: Route[]): Route[] {
  return sortSmall(routes, compare);
}

/** In-place stable sort; insertion sort for the short lists that dominate
 *  (Array#sort allocates a work array per call). */
export function sortSmall<T>(list: T[], cmp: (a: T, b: T) => number): T[] {
  if (list.length > 16) return list.sort(cmp);
  for (let i = 1; i < list.length; i++) {
    const x = list[i]!;
    let j = i - 1;
    while (j >= 0 && cmp(list[j]!, x) > 0) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = x;
  }
  return list;
}
