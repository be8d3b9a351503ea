// The NLB in front of a Gateway, the way Contour's Gateway provisioner
// makes the Envoy Service of a Gateway: a Gateway whose
// spec.infrastructure.annotations carry AWS load balancer annotations
// (service.beta.kubernetes.io/aws-load-balancer-*) gets a Service of type
// LoadBalancer, envoy-<gateway name> in the Gateway's namespace, with those
// annotations copied. isobar's balancer then plays the NLB for it as for
// any such Service. Its ports: each served listener port, to the proxy's
// listener of that protocol (a port listener by its name, e.g. "tcp-5000");
// and each port the ssl-ports annotation names
// that no listener has, to the proxy's HTTP listener, since TLS ends at the
// load balancer (the NLB TLS-termination setup).
import type { Service, ServicePort } from '../objects/index.ts';
import type { GatewayState } from './gateway-listeners.ts';
import { rec, strMap } from './safe.ts';

export const AWS_LB_PREFIX = 'service.beta.kubernetes.io/aws-load-balancer-';
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

export function loadBalancerName(gatewayName: string): string {
  return `envoy-${gatewayName}`;
}

/** The load balancer Service of a Gateway, or undefined when it asks for none. */
export function gatewayLoadBalancer(gw: GatewayState, raw: unknown): Service | undefined {
  const annotations = strMap(rec(rec(rec(raw)?.spec)?.infrastructure)?.annotations);
  if (!Object.keys(annotations).some((k) => k.startsWith(AWS_LB_PREFIX))) return undefined;
  const labels = { ...strMap(rec(rec(rec(raw)?.spec)?.infrastructure)?.labels), [GATEWAY_NAME_LABEL]: gw.name };
  const ports: ServicePort[] = [];
  const seen = new Set<number>();
  for (const l of gw.listeners) {
    if (!l.usable || seen.has(l.port)) continue;
    seen.add(l.port);
    // The proxy's own listener for the first port of a kind, else the
    // port listener by name (the balancer hands its flows to that one).
    const targetPort = l.proxyListener ?? (l.protocol === 'HTTP' ? 'http' : 'https');
    ports.push({ name: `${l.protocol.toLowerCase()}-${l.port}`, protocol: 'TCP', port: l.port, targetPort });
  }
  const ssl = annotations[`${AWS_LB_PREFIX}ssl-ports`];
  if (ssl !== undefined && gw.listeners.some((l) => l.usable && l.protocol === 'HTTP')) {
    for (const entry of ssl.split(',')) {
      const port = Number(entry.trim());
      if (!Number.isInteger(port) || port < 1 || port > 65535 || seen.has(port)) continue;
      seen.add(port);
      ports.push({ name: `tls-${port}`, protocol: 'TCP', port, targetPort: 'http' });
    }
  }
  if (ports.length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: loadBalancerName(gw.name), namespace: gw.namespace, labels, annotations },
    spec: { type: 'LoadBalancer', ports },
  };
}
