// The listeners: one per TCP Service port, bound at port + offset, with the
// listener attributes, and the target group parts each listener carries
// (the AWS controller's model_build_listener.go).

import type { Service, ServicePort, Snapshot } from '../objects/index.ts';
import type { BalancerListener } from './balancer-config.ts';
import { A, annotation, parseInt32, parseStringMap, type Annotations } from './annotations.ts';
import { isTlsPort, listenerTlsConfig, type ListenerTls } from './model-build-listener-tls.ts';
import { buildDeregistration, buildPreserveClientIp } from './model-build-target-group-attributes.ts';
import type { TargetGroup } from './model-build-target-group.ts';
import { buildTargetProtocol, listenerTargetTls, type TargetTls } from './model-build-target-tls.ts';
import { listenerProxyProtocol } from './model-build-proxy-protocol.ts';
import { buildTargets, type ProxyTargets } from './model-build-targets.ts';
import type { Problems } from './model-problems.ts';

export const IDLE_TIMEOUT_MS = 350_000;

/** The Service's TCP ports, in spec order: a bad or repeated port is an
 *  error, another protocol a warning (isobar balances TCP only). */
export function buildTcpPorts(svc: Service, p: Problems): ServicePort[] {
  const ports = Array.isArray(svc.spec.ports) ? svc.spec.ports : [];
  const tcpPorts: ServicePort[] = [];
  const seen = new Set<number>();
  ports.forEach((sp, i) => {
    if (!sp || !Number.isInteger(sp.port) || sp.port < 1 || sp.port > 65535) {
      p.error(`spec.ports[${i}].port`, `port ${JSON.stringify(sp?.port)} is out of range (1-65535)`);
      return;
    }
    const proto = sp.protocol ?? 'TCP';
    if (proto !== 'TCP') {
      p.warn(`spec.ports[${i}].protocol`, `port ${sp.port} is ${proto}; isobar balances TCP only, so this port has no listener`);
      return;
    }
    if (seen.has(sp.port)) {
      p.error(`spec.ports[${i}].port`, `port ${sp.port} appears twice`);
      return;
    }
    seen.add(sp.port);
    tcpPorts.push(sp);
  });
  return tcpPorts;
}

/** Service port + offset, or 0 (ephemeral) for tests; undefined when the
 *  sum leaves 1-65535 (that port gets no listener). */
export function buildBindPort(port: number, portOffset: number, ephemeral: boolean, p: Problems): number | undefined {
  if (ephemeral) return 0;
  const bindPort = port + portOffset;
  if (Number.isInteger(bindPort) && bindPort >= 1 && bindPort <= 65535) return bindPort;
  p.error(`spec.ports`, `port ${port} plus the port offset ${portOffset} is ${bindPort}, outside 1-65535 (choose another --port-offset)`);
  return undefined;
}

/** `...listener-attributes.<TCP|TLS>-<port>`: isobar applies
 *  tcp.idle_timeout.seconds and says which others it does not. */
export function buildIdleTimeout(ann: Annotations, port: number, tls: boolean, p: Problems): number {
  const key = `${A.listenerAttributes}.${tls ? 'TLS' : 'TCP'}-${port}`;
  const value = annotation(ann, key);
  if (value === undefined) return IDLE_TIMEOUT_MS;
  const m = parseStringMap(value);
  if (!m.ok) {
    p.error(key, m.message);
    return IDLE_TIMEOUT_MS;
  }
  let idleTimeoutMs = IDLE_TIMEOUT_MS;
  for (const [k, v] of m.value) {
    if (k === 'tcp.idle_timeout.seconds') {
      const n = parseInt32(v, 60, 6000);
      if (n.ok) idleTimeoutMs = n.value * 1000;
      else p.error(key, `tcp.idle_timeout.seconds: ${n.message}`);
    } else p.warn(key, `${k} not applied by isobar (it applies tcp.idle_timeout.seconds)`);
  }
  return idleTimeoutMs;
}

/** What the Service-wide builders made, for the listener of each port. */
export interface ListenerInputs {
  snapshot: Snapshot;
  svc: Service;
  ann: Annotations;
  targetType: 'ip' | 'instance';
  /** The ingress Service: targets are isobar's proxy, always with PROXY v2. */
  ingress: boolean;
  proxyTargets: ProxyTargets | undefined;
  bindAddress: string;
  /** The load balancer's allowed client ranges, the same on every listener. */
  sourceRanges: string[];
  portOffset: number;
  ephemeralPorts: boolean;
  tls: ListenerTls;
  targetTls: TargetTls;
  targetGroup: TargetGroup;
}

/** Listeners in port order. */
export function buildListeners(tcpPorts: ServicePort[], x: ListenerInputs, p: Problems): BalancerListener[] {
  const listeners: BalancerListener[] = [];
  for (const sp of [...tcpPorts].sort((a, b) => a.port - b.port)) {
    const listener = buildListener(sp, x, p);
    if (listener) listeners.push(listener);
  }
  return listeners;
}

// The order of the per-port builders is the order of the port's problems
// in the Service's status: target group attributes, targets, PROXY
// protocol, target protocol, listener attributes, client IP.
export function buildListener(sp: ServicePort, x: ListenerInputs, p: Problems): BalancerListener | undefined {
  const bindPort = buildBindPort(sp.port, x.portOffset, x.ephemeralPorts, p);
  if (bindPort === undefined) return undefined;
  const tls = isTlsPort(x.tls, sp);
  const tg = x.targetGroup;
  const attrs = tg.attributes.get(sp.port) ?? new Map<string, string>();
  const deregistration = buildDeregistration(attrs, p);
  const targets = buildTargets(x.snapshot, x.svc, sp, x.ingress, x.proxyTargets, p);
  const proxyProtocol = listenerProxyProtocol(tg.proxyProtocol, sp.port, attrs, p) || x.ingress;
  const targetProtocol = buildTargetProtocol(sp.port, tls, x.targetTls, x.ingress, targets, p);
  const idleTimeoutMs = buildIdleTimeout(x.ann, sp.port, tls, p);
  const preserveClientIp = buildPreserveClientIp(attrs, x.targetType, p);
  const listener: BalancerListener = {
    id: `${x.svc.metadata.namespace}/${x.svc.metadata.name}:${sp.port}`,
    servicePort: sp.port,
    bindAddress: x.bindAddress,
    bindPort,
    protocol: tls ? 'TLS' : 'TCP',
    targets,
    targetProtocol,
    proxyProtocol,
    proxyProtocolTlvs: proxyProtocol ? [...tg.proxyProtocol.tlvs] : [],
    healthCheck: { ...tg.healthCheck },
    deregistrationDelayMs: deregistration.delayMs,
    idleTimeoutMs,
    preserveClientIp,
    targetSelection: tg.targetSelection,
    sourceRanges: [...x.sourceRanges],
  };
  if (deregistration.terminatesConnections) listener.drainTerminatesConnections = true;
  const tlsConfig = listenerTlsConfig(x.tls, tls);
  if (tlsConfig) listener.tls = tlsConfig;
  const targetTlsConfig = listenerTargetTls(x.targetTls, targetProtocol);
  if (targetTlsConfig) listener.targetTls = targetTlsConfig;
  return listener;
}
