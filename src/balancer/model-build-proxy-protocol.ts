// PROXY protocol v2 towards the targets, by the controller's precedence
// (proxy-protocol "*", then proxy-protocol-per-target-group, then the
// proxy_protocol_v2.enabled attribute), and isobar's opt-in TLVs.

import type { ServicePort } from '../objects/index.ts';
import type { BalancerListener } from './balancer-config.ts';
import { A, annotation, parseInt32, splitList, type Annotations } from './annotations.ts';
import { attributeBool, type TargetGroupAttributes } from './model-build-target-group-attributes.ts';
import type { Problems } from './model-problems.ts';

type Tlv = BalancerListener['proxyProtocolTlvs'][number];

export interface ProxyProtocol {
  /** proxy-protocol "*": every port. */
  all: boolean;
  /** proxy-protocol-per-target-group: these Service ports. */
  ports?: Set<number>;
  tlvs: Tlv[];
}

export function buildProxyProtocol(ann: Annotations, tcpPorts: ServicePort[], attributes: TargetGroupAttributes, p: Problems): ProxyProtocol {
  const all = annotation(ann, A.proxyProtocol);
  if (all !== undefined && all.trim() !== '*') p.error(A.proxyProtocol, `"${all}" is not supported (the only value is "*")`);
  const ports = buildProxyProtocolPorts(ann, all !== undefined, tcpPorts, p);
  if ((all !== undefined || ports) && [...attributes.values()].some((m) => m.has('proxy_protocol_v2.enabled'))) {
    p.warn(A.tgAttributes, `proxy_protocol_v2.enabled is overridden by ${all !== undefined ? A.proxyProtocol : A.proxyProtocolPerTg}`);
  }
  const tlvs = buildProxyProtocolTlvs(ann, p);
  return ports ? { all: all !== undefined, ports, tlvs } : { all: all !== undefined, tlvs };
}

export function buildProxyProtocolPorts(ann: Annotations, overridden: boolean, tcpPorts: ServicePort[], p: Problems): Set<number> | undefined {
  const value = annotation(ann, A.proxyProtocolPerTg);
  if (value === undefined) return undefined;
  if (overridden) p.warn(A.proxyProtocolPerTg, `ignored: ${A.proxyProtocol} takes precedence`);
  const ports = new Set<number>();
  for (const it of splitList(value)) {
    const n = parseInt32(it, 1, 65535);
    if (!n.ok) p.error(A.proxyProtocolPerTg, `item ${n.message} (expected Service port numbers, e.g. "80,443")`);
    else {
      ports.add(n.value);
      if (!tcpPorts.some((sp) => sp.port === n.value)) p.warn(A.proxyProtocolPerTg, `port ${n.value} is not a TCP port of the Service`);
    }
  }
  return ports;
}

export function buildProxyProtocolTlvs(ann: Annotations, p: Problems): Tlv[] {
  const tlvs: Tlv[] = [];
  for (const it of splitList(annotation(ann, A.proxyProtocolTlvs) ?? '')) {
    if (it === 'ssl' || it === 'authority' || it === 'alpn') {
      if (!tlvs.includes(it)) tlvs.push(it);
    } else p.error(A.proxyProtocolTlvs, `unknown TLV "${it}" (use ssl, authority, alpn)`);
  }
  return tlvs;
}

/** Whether one port's listener sends PROXY v2. The attribute is read (and a
 *  bad value reported) even when an annotation overrides it. */
export function listenerProxyProtocol(pp: ProxyProtocol, port: number, attrs: Map<string, string>, p: Problems): boolean {
  const attr = attributeBool(attrs, 'proxy_protocol_v2.enabled', false, p);
  if (pp.all) return true;
  if (pp.ports) return pp.ports.has(port);
  return attr;
}

/** Said once the listeners are built, after the other problems. */
export function warnUnusedTlvs(pp: ProxyProtocol, listeners: BalancerListener[], p: Problems): void {
  if (pp.tlvs.length > 0 && !listeners.some((l) => l.proxyProtocol)) {
    p.warn(A.proxyProtocolTlvs, `has no effect without PROXY protocol (${A.proxyProtocol}: "*")`);
  }
}
