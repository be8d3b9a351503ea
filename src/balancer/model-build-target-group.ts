// The target group behind each listener: its attributes, PROXY protocol,
// health check and how it picks a target (the AWS controller's
// model_build_target_group.go). Built once per Service; each listener takes
// its port's part (see model-build-listener).

import type { ServicePort } from '../objects/index.ts';
import type { BalancerListener, HealthCheckConfig } from './balancer-config.ts';
import { A, annotation, type Annotations } from './annotations.ts';
import { buildTargetGroupAttributes, type TargetGroupAttributes } from './model-build-target-group-attributes.ts';
import { buildProxyProtocol, type ProxyProtocol } from './model-build-proxy-protocol.ts';
import { buildHealthCheck } from './model-build-health-check.ts';
import type { Problems } from './model-problems.ts';

export interface TargetGroup {
  attributes: TargetGroupAttributes;
  proxyProtocol: ProxyProtocol;
  healthCheck: HealthCheckConfig;
  targetSelection: BalancerListener['targetSelection'];
}

export function buildTargetGroup(ann: Annotations, tcpPorts: ServicePort[], p: Problems): TargetGroup {
  const attributes = buildTargetGroupAttributes(ann, tcpPorts, p);
  const proxyProtocol = buildProxyProtocol(ann, tcpPorts, attributes, p);
  const healthCheck = buildHealthCheck(ann, tcpPorts, p);
  const targetSelection = buildTargetSelection(ann, p);
  return { attributes, proxyProtocol, healthCheck, targetSelection };
}

/** isobar extension: flow-hash (as the NLB) or round-robin. */
export function buildTargetSelection(ann: Annotations, p: Problems): BalancerListener['targetSelection'] {
  const value = annotation(ann, A.targetSelection);
  if (value === undefined) return 'flow-hash';
  const v = value.trim();
  if (v === 'flow-hash' || v === 'round-robin') return v;
  p.error(A.targetSelection, `"${v}" is not a target selection (use flow-hash or round-robin)`);
  return 'flow-hash';
}
