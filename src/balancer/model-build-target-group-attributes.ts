// Target group attributes (service-wide, then per port) and what isobar
// applies of them: deregistration delay and connection termination, client
// IP preservation (proxy_protocol_v2.enabled: see model-build-proxy-protocol).

import type { ServicePort } from '../objects/index.ts';
import { A, annotation, parseBool, parseInt32, parseStringMap, type Annotations } from './annotations.ts';
import type { Problems } from './model-problems.ts';

const DEFAULT_DEREGISTRATION_DELAY_S = 300;

const KNOWN_TG_ATTRIBUTES = new Set([
  'proxy_protocol_v2.enabled',
  'preserve_client_ip.enabled',
  'deregistration_delay.timeout_seconds',
  'deregistration_delay.connection_termination.enabled',
]);

/** Attributes by Service port. */
export type TargetGroupAttributes = Map<number, Map<string, string>>;

/** target-group-attributes, with `...target-group-attributes.<port>`
 *  overriding it key by key for that port (an empty value keeps the
 *  service-wide one). */
export function buildTargetGroupAttributes(ann: Annotations, tcpPorts: ServicePort[], p: Problems): TargetGroupAttributes {
  let base = new Map<string, string>();
  const all = annotation(ann, A.tgAttributes);
  if (all !== undefined) {
    const m = parseStringMap(all);
    if (m.ok) base = m.value;
    else p.error(A.tgAttributes, m.message);
  }
  const byPort: TargetGroupAttributes = new Map();
  for (const sp of tcpPorts) {
    const merged = new Map(base);
    const key = `${A.tgAttributes}.${sp.port}`;
    const own = annotation(ann, key);
    if (own !== undefined) {
      const m = parseStringMap(own);
      if (!m.ok) p.error(key, m.message);
      else for (const [k, v] of m.value) if (v !== '') merged.set(k, v);
    }
    byPort.set(sp.port, merged);
  }
  const unknownKeys = new Set<string>();
  for (const m of byPort.values()) for (const k of m.keys()) if (!KNOWN_TG_ATTRIBUTES.has(k)) unknownKeys.add(k);
  if (unknownKeys.size > 0) {
    p.warn(A.tgAttributes, `${[...unknownKeys].sort().join(', ')} not applied by isobar (it applies ${[...KNOWN_TG_ATTRIBUTES].join(', ')})`);
  }
  return byPort;
}

/** A boolean attribute of one port's target group; a bad value is an
 *  error (said for each port it applies to) and counts as the default. */
export function attributeBool(attrs: Map<string, string>, key: string, dflt: boolean, p: Problems): boolean {
  const v = attrs.get(key);
  if (v === undefined) return dflt;
  const b = parseBool(v);
  if (!b.ok) {
    p.error(A.tgAttributes, `${key}: ${b.message}`);
    return dflt;
  }
  return b.value;
}

export interface Deregistration {
  delayMs: number;
  /** Close a removed target's connections when the delay ends. */
  terminatesConnections: boolean;
}

export function buildDeregistration(attrs: Map<string, string>, p: Problems): Deregistration {
  let delayS = DEFAULT_DEREGISTRATION_DELAY_S;
  const timeout = attrs.get('deregistration_delay.timeout_seconds');
  if (timeout !== undefined) {
    const n = parseInt32(timeout, 0, 3600);
    if (n.ok) delayS = n.value;
    else p.error(A.tgAttributes, `deregistration_delay.timeout_seconds: ${n.message}`);
  }
  const terminatesConnections = attributeBool(attrs, 'deregistration_delay.connection_termination.enabled', false, p);
  return { delayMs: delayS * 1000, terminatesConnections };
}

/** As the controller: preserved by default for instance targets only. */
export function buildPreserveClientIp(attrs: Map<string, string>, targetType: 'ip' | 'instance', p: Problems): boolean {
  return attributeBool(attrs, 'preserve_client_ip.enabled', targetType === 'instance', p);
}
