// Ready endpoints of a Service port, from EndpointSlices (preferred when any
// exist for the Service) or the Endpoints object, as ip:port targets.

import { isIP } from 'node:net';
import type { Service, ServicePort, Snapshot } from '../objects/index.ts';

export interface EndpointTarget {
  address: string;
  port: number;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Service ports and endpoint ports pair up by name ("" for an unnamed
 *  port); a numeric targetPort or a port named like the targetPort are the
 *  fallbacks for hand-written manifests. */
function pickPort(sp: ServicePort, ports: { name?: string; port: number; protocol?: string }[] | undefined): number | undefined {
  const list = (ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP' && Number.isInteger(p.port) && p.port > 0 && p.port <= 65535);
  const byName = list.find((p) => (p.name ?? '') === (sp.name ?? ''));
  if (byName) return byName.port;
  const numeric = numericTargetPort(sp);
  if (numeric !== undefined) return numeric;
  return list.find((p) => p.name === sp.targetPort)?.port;
}

export function numericTargetPort(sp: ServicePort): number | undefined {
  if (sp.targetPort === undefined) return sp.port;
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  if (/^\d+$/.test(sp.targetPort)) return Number(sp.targetPort);
  return undefined;
}

export function readyEndpoints(snapshot: Snapshot, svc: Service, sp: ServicePort): EndpointTarget[] {
  const ns = svc.metadata.namespace;
  const name = svc.metadata.name;
  const out = new Map<string, EndpointTarget>();
  const add = (address: string, port: number | undefined) => {
    if (port === undefined || !isIP(address)) return;
    out.set(`${address}|${port}`, { address, port });
  };
  const slices = snapshot.endpointSlices.filter(
    (s) => s.metadata.namespace === ns && s.metadata.labels?.[SERVICE_NAME_LABEL] === name,
  );
  if (slices.length > 0) {
    for (const s of slices) {
      if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
      const port = pickPort(sp, s.ports);
      for (const e of s.endpoints ?? []) {
        // Kubernetes: a nil ready condition means ready.
        if (e.conditions?.ready === false) continue;
        for (const a of e.addresses ?? []) add(a, port);
      }
    }
  } else {
    const ep = snapshot.endpoints.find((e) => e.metadata.namespace === ns && e.metadata.name === name);
    for (const subset of ep?.subsets ?? []) {
      const port = pickPort(sp, subset.ports);
      for (const a of subset.addresses ?? []) add(a.ip, port);
    }
  }
  return [...out.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
}
