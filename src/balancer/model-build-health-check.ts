// The target group's health check: protocol, timings and thresholds with the
// controller's NLB defaults, HTTP path and success codes, and port (the
// health check part of the AWS controller's model_build_target_group.go).

import type { ServicePort } from '../objects/index.ts';
import type { HealthCheckConfig } from './balancer-config.ts';
import { A, annotation, parseInt32, parseSuccessCodes, type Annotations } from './annotations.ts';
import { numericTargetPort } from './endpoints.ts';
import type { Problems } from './model-problems.ts';

export function buildHealthCheck(ann: Annotations, ports: ServicePort[], p: Problems): HealthCheckConfig {
  const protocol = buildHealthCheckProtocol(ann, p);
  const interval = buildHealthCheckNumber(ann, A.hcInterval, 10, 5, 300, p);
  const timeout = buildHealthCheckNumber(ann, A.hcTimeout, 10, 2, 120, p);
  const healthy = buildHealthCheckNumber(ann, A.hcHealthy, 3, 2, 10, p);
  const unhealthy = buildHealthCheckNumber(ann, A.hcUnhealthy, 3, 2, 10, p);
  // Path and success codes mean something to HTTP(S) checks only.
  const path = protocol === 'TCP' ? '/' : buildHealthCheckPath(ann, p);
  const successCodes = protocol === 'TCP' ? '200-399' : buildHealthCheckSuccessCodes(ann, p);
  const port = buildHealthCheckPort(ann, ports, p);
  return {
    protocol,
    port,
    path,
    intervalMs: interval * 1000,
    timeoutMs: timeout * 1000,
    healthyThreshold: healthy,
    unhealthyThreshold: unhealthy,
    successCodes,
  };
}

export function buildHealthCheckProtocol(ann: Annotations, p: Problems): HealthCheckConfig['protocol'] {
  const value = annotation(ann, A.hcProtocol);
  if (value === undefined) return 'TCP';
  const v = value.trim().toUpperCase();
  if (v === 'TCP' || v === 'HTTP' || v === 'HTTPS') return v;
  p.error(A.hcProtocol, `"${value}" is not a health check protocol (use TCP, HTTP or HTTPS)`);
  return 'TCP';
}

/** An integer annotation within [min, max]; unset or bad: `dflt`. */
export function buildHealthCheckNumber(ann: Annotations, key: string, dflt: number, min: number, max: number, p: Problems): number {
  const value = annotation(ann, key);
  if (value === undefined) return dflt;
  const n = parseInt32(value, min, max);
  if (n.ok) return n.value;
  p.error(key, n.message);
  return dflt;
}

export function buildHealthCheckPath(ann: Annotations, p: Problems): string {
  const value = annotation(ann, A.hcPath);
  if (value === undefined) return '/';
  const v = value.trim();
  if (v.startsWith('/') && v.length <= 1024 && !/[\s\x00-\x1f\x7f]/.test(v)) return v;
  p.error(A.hcPath, `"${value}" is not a path (start with "/", at most 1024 characters, no spaces)`);
  return '/';
}

export function buildHealthCheckSuccessCodes(ann: Annotations, p: Problems): string {
  const value = annotation(ann, A.hcSuccessCodes);
  if (value === undefined) return '200-399';
  const c = parseSuccessCodes(value);
  if (c.ok) return c.value;
  p.error(A.hcSuccessCodes, c.message);
  return '200-399';
}

/** traffic-port, a number, or the name of a Service port (its numeric
 *  targetPort). */
export function buildHealthCheckPort(ann: Annotations, ports: ServicePort[], p: Problems): HealthCheckConfig['port'] {
  const value = annotation(ann, A.hcPort);
  if (value === undefined) return 'traffic-port';
  const v = value.trim();
  if (v === 'traffic-port') return 'traffic-port';
  if (/^\d+$/.test(v)) {
    const n = parseInt32(v, 1, 65535);
    if (n.ok) return n.value;
    p.error(A.hcPort, n.message);
    return 'traffic-port';
  }
  const named = ports.find((sp) => sp.name === v);
  const tp = named ? numericTargetPort(named) : undefined;
  if (!named) p.error(A.hcPort, `"${v}" is neither traffic-port, a port number, nor the name of a Service port`);
  else if (tp === undefined) p.error(A.hcPort, `Service port "${v}" has a named targetPort; give the health check port as a number`);
  else return tp;
  return 'traffic-port';
}
