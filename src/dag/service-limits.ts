// Contour's circuit-breaker annotations on a Service
// (projectcontour.io/max-connections and friends, internal/annotation):
// isobar does not enforce them yet, so a route to a Service that sets one
// fails closed instead of reaching it without the limit. As in Contour, a
// value that does not parse as a uint32, or 0, sets no limit.
import type { Service } from '../objects/index.ts';
import { rec, strMap } from './safe.ts';

const LIMIT_ANNOTATIONS = [
  'projectcontour.io/max-connections',
  'projectcontour.io/max-pending-requests',
  'projectcontour.io/max-requests',
  'projectcontour.io/max-retries',
  'projectcontour.io/per-host-max-connections',
] as const;

/** strconv.ParseUint(s, 10, 32) > 0 */
function setsLimit(v: string): boolean {
  if (!/^[0-9]+$/.test(v)) return false;
  const n = Number(v);
  return n > 0 && n <= 0xffff_ffff;
}

/** The limit annotations a Service sets, in Contour's order. */
export function unenforcedLimitAnnotations(svc: Service): string[] {
  const ann = strMap(rec(svc.metadata)?.annotations);
  return LIMIT_ANNOTATIONS.filter((k) => ann[k] !== undefined && setsLimit(ann[k]));
}

export function unenforcedLimitsMessage(ns: string, name: string, annotations: readonly string[]): string {
  return (
    `Service "${ns}/${name}" sets ${annotations.join(', ')}: circuit breakers are not supported by isobar, ` +
    'so routes to it are not served rather than served without the limit'
  );
}
