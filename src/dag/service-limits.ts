// Contour's circuit breakers for a Service: the projectcontour.io/max-*
// annotations (internal/annotation), else the config file's
// cluster.circuit-breakers, else Envoy's defaults (internal/dag/policy.go
// serviceCircuitBreakerPolicy; internal/envoy/v3 applyCircuitBreakers). As
// in Contour, a value that does not parse as a uint32, or 0, sets nothing.
import type { Service } from '../objects/index.ts';
import type { CircuitBreakers } from './proxy-config.ts';
import { rec, strMap } from './safe.ts';

const UNSET: Readonly<CircuitBreakers> = { maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0, perHostMaxConnections: 0 };

const ANNOTATIONS: readonly [keyof CircuitBreakers, string][] = [
  ['maxConnections', 'projectcontour.io/max-connections'],
  ['maxPendingRequests', 'projectcontour.io/max-pending-requests'],
  ['maxRequests', 'projectcontour.io/max-requests'],
  ['maxRetries', 'projectcontour.io/max-retries'],
  ['perHostMaxConnections', 'projectcontour.io/per-host-max-connections'],
];

/** strconv.ParseUint(s, 10, 32), 0 when it fails. */
function uint32(v: string | undefined): number {
  if (v === undefined || !/^[0-9]+$/.test(v)) return 0;
  const n = Number(v);
  return n <= 0xffff_ffff ? n : 0;
}

/** The thresholds a Service's annotations set (0: not set). */
export function annotatedCircuitBreakers(svc: Service): CircuitBreakers {
  const ann = strMap(rec(svc.metadata)?.annotations);
  const out = { ...UNSET };
  for (const [field, key] of ANNOTATIONS) out[field] = uint32(ann[key]);
  return out;
}

/** A Service's thresholds over the config defaults (0 where neither sets
 *  one: Envoy's default); undefined when neither sets any, as Contour then
 *  leaves the cluster's circuit_breakers out. */
export function serviceCircuitBreakers(annotated: CircuitBreakers, defaults: Partial<CircuitBreakers> | undefined): CircuitBreakers | undefined {
  let any = false;
  const out = { ...UNSET };
  for (const [field] of ANNOTATIONS) {
    const v = annotated[field] || defaults?.[field] || 0;
    if (v > 0) {
      out[field] = v;
      any = true;
    }
  }
  return any ? out : undefined;
}
