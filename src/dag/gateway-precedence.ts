// The Gateway API's precedence among the routes of one host: Exact paths,
// then the longest PathPrefix (regular expressions after both), then a
// method match, then more header matches, then more query matches; ties go
// to the oldest route, then namespace/name, then rule and match order.
import type { Placement } from './gateway-httproute.ts';
import type { RouteRank } from './gateway-rules.ts';
import type { Route } from './proxy-config.ts';

/** A placement of a proxy route (not a passthrough). */
export type RoutePlacement = Placement & { route: Route; rank: RouteRank };

export function comparePlacements(a: RoutePlacement, b: RoutePlacement): number {
  if (a.secure !== b.secure) return a.secure ? 1 : -1;
  if (a.fqdn !== b.fqdn) return a.fqdn < b.fqdn ? -1 : 1;
  const x = a.rank;
  const y = b.rank;
  if (x.pathKind !== y.pathKind) return x.pathKind - y.pathKind;
  if (x.pathLength !== y.pathLength) return y.pathLength - x.pathLength;
  if (x.method !== y.method) return x.method ? -1 : 1;
  if (x.headers !== y.headers) return y.headers - x.headers;
  if (x.queries !== y.queries) return y.queries - x.queries;
  if (a.creation !== b.creation) return a.creation === '' ? 1 : b.creation === '' ? -1 : a.creation < b.creation ? -1 : 1;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (x.ruleIndex !== y.ruleIndex) return x.ruleIndex - y.ruleIndex;
  return x.matchIndex - y.matchIndex;
}

/** Routes with equal keys match the same requests. */
export function matchKey(r: Route): string {
  return `${r.path.kind}\u0000${r.path.value}\u0000${JSON.stringify(r.headers)}\u0000${JSON.stringify(r.queryParams)}`;
}
