// Envoy's slow start for the round robin and least request balancers: an
// endpoint that joined the cluster, or passed a health check after failing,
// less than a window ago has its weight scaled by
//   max(minWeightPercent, timeFactor ^ (1 / aggression)),
//   timeFactor = max(seconds in that state, 1) / window seconds,
// and picks are weighted (smooth weighted round robin) while any endpoint is
// ramping. Least request divides each weight by (active requests + 1), as
// Envoy's least request balancer does when weights differ.
import type { SlowStart } from '../dag/index.ts';

export interface Ramping {
  /** performance.now() when the endpoint's ramp began. */
  since: number;
  credit: number;
  active: number;
}

/** The weight factor of an endpoint `ageMs` into its ramp (1 after it). */
export function slowStartFactor(ss: SlowStart, ageMs: number): number {
  if (ageMs >= ss.windowMs) return 1;
  const timeFactor = Math.max(ageMs / 1000, 1) / (ss.windowMs / 1000);
  return Math.min(1, Math.max(ss.minWeightPercent / 100, timeFactor ** (1 / ss.aggression)));
}

/** When the last ramp in `list` ends; 0 when none is ramping at `now`. The
 *  credits start again from 0 (the list or its weights changed). */
export function rampEnd(list: readonly Ramping[], ss: SlowStart, now: number): number {
  let end = 0;
  for (const e of list) {
    e.credit = 0;
    end = Math.max(end, e.since + ss.windowMs);
  }
  return end > now ? end : 0;
}

export function pickRamped<T extends Ramping>(list: readonly T[], ss: SlowStart, now: number, leastRequest: boolean): T {
  let total = 0;
  let best = list[0]!;
  let bestCredit = -Infinity;
  for (const e of list) {
    let w = slowStartFactor(ss, now - e.since);
    if (leastRequest) w /= e.active + 1;
    e.credit += w;
    total += w;
    if (e.credit > bestCredit) {
      bestCredit = e.credit;
      best = e;
    }
  }
  best.credit -= total;
  return best;
}
