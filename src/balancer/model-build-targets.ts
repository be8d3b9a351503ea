// A listener's targets: the ready endpoints of its Service port, or, for the
// ingress Service, isobar's own proxy (by targetPort: 8080/http or
// 8443/https, or a port listener's name such as "http-81" or "tcp-5000",
// which the load balancers of Gateways name).

/** A port listener's name, as Contour names its Envoy listeners. */
const PORT_LISTENER = /^(?:http|https|tcp)-\d{1,5}$/;

import type { Service, ServicePort, Snapshot } from '../objects/index.ts';
import type { IsobarConfig } from '../config/index.ts';
import type { Target } from './balancer-config.ts';
import { readyEndpoints } from './endpoints.ts';
import type { Problems } from './model-problems.ts';

export interface ProxyTargets {
  http: { address: string; port: number };
  https: { address: string; port: number };
}

export function isIngressService(svc: Service, config: IsobarConfig, proxyServices?: ReadonlySet<string>): boolean {
  if (proxyServices?.has(`${svc.metadata.namespace}/${svc.metadata.name}`)) return true;
  return svc.metadata.namespace === config.ingressService.namespace && svc.metadata.name === config.ingressService.name;
}

function proxyTarget(sp: ServicePort, proxyTargets: ProxyTargets | undefined): Target | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (tp === 8080 || tp === 'http' || tp === '8080') {
    return { kind: 'proxy-http', address: proxyTargets?.http.address ?? '', port: proxyTargets?.http.port ?? 0 };
  }
  if (tp === 8443 || tp === 'https' || tp === '8443') {
    return { kind: 'proxy-https', address: proxyTargets?.https.address ?? '', port: proxyTargets?.https.port ?? 0 };
  }
  // The balancer health-checks a port listener's target at the proxy's
  // HTTP listener for the balancer: the flows themselves go to the port
  // listener (listener-runtime.ts).
  if (typeof tp === 'string' && PORT_LISTENER.test(tp)) return { kind: 'proxy-port', listener: tp, address: proxyTargets?.http.address ?? '', port: proxyTargets?.http.port ?? 0 };
  return undefined;
}

export function targetsFor(snapshot: Snapshot, svc: Service, sp: ServicePort, ingress: boolean, proxyTargets: ProxyTargets | undefined): Target[] {
  if (ingress) {
    const t = proxyTarget(sp, proxyTargets);
    return t ? [t] : [];
  }
  return readyEndpoints(snapshot, svc, sp).map((e) => ({ kind: 'endpoint', address: e.address, port: e.port }));
}

/** targetsFor, saying when an ingress Service port targets no proxy listener. */
export function buildTargets(snapshot: Snapshot, svc: Service, sp: ServicePort, ingress: boolean, proxyTargets: ProxyTargets | undefined, p: Problems): Target[] {
  const targets = targetsFor(snapshot, svc, sp, ingress, proxyTargets);
  if (ingress && targets.length === 0) {
    p.warn(`spec.ports`, `port ${sp.port} targets ${JSON.stringify(sp.targetPort ?? sp.port)}, which is not isobar's proxy (use targetPort 8080 or "http" for its HTTP listener, 8443 or "https" for its HTTPS listener)`);
  }
  return targets;
}
