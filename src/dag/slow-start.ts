// A service's slowStartPolicy as Contour reads it (slowStartConfig in
// internal/dag/httpproxy_processor.go), with its error texts, and with the
// values Envoy would not take replaced as Envoy replaces them.
import { parseGoDuration } from './duration.ts';
import type { SlowStart } from './proxy-config.ts';

/** Contour's SlowStartInvalid message for the other balancer strategies. */
export const SLOW_START_STRATEGY_ERROR = 'slow start is only supported with RoundRobin or WeightedLeastRequest load balancer strategy';

export interface NSlowStartPolicy {
  window: string;
  aggression: string;
  /** null: unset, the CRD's default 10. */
  minWeightPercent: number | null;
}

// strconv.ParseFloat's decimal forms, Inf and NaN (the CRD's pattern lets
// only digits and one '.' through; a caller that skips the validator may
// send the others).
const GO_FLOAT = /^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)$/i;

function goParseFloat(s: string): number | undefined {
  if (!GO_FLOAT.test(s)) return undefined;
  const body = s.replace(/^[+-]/, '').toLowerCase();
  const sign = s.startsWith('-') ? -1 : 1;
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body === 'nan') return NaN;
  return Number(s);
}

export function slowStartConfig(p: NSlowStartPolicy): { ok: true; value: SlowStart } | { ok: false; error: string } {
  const window = parseGoDuration(p.window);
  if (!window.ok) return { ok: false, error: `error parsing window: ${window.error}` };
  let aggression = 1;
  if (p.aggression !== '') {
    const a = goParseFloat(p.aggression);
    if (a === undefined) return { ok: false, error: `error parsing aggression: "${p.aggression}" is not a decimal number` };
    aggression = a;
  }
  // Envoy logs and uses 1.0 for an aggression that is not above 0.
  if (!(aggression > 0)) aggression = 1;
  const min = p.minWeightPercent ?? 10;
  return {
    ok: true,
    value: { windowMs: Math.max(0, window.ms), aggression, minWeightPercent: Math.min(100, Math.max(0, min)) },
  };
}
