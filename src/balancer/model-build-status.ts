// A Service's status as the model sees it: its listeners, where they listen,
// the load balancer's ingress entry and its problems (the runtime adds
// target health later, see status.ts).

import type { Service } from '../objects/index.ts';
import type { ServiceListenerStatus, ServiceProblem, ServiceStatus } from '../status/index.ts';
import type { BalancerListener, LoadBalancer } from './balancer-config.ts';
import { bindAddressFor } from './model-build-load-balancer.ts';

export function buildServiceStatus(svc: Service, lb: LoadBalancer | undefined, problems: ServiceProblem[], lbAddress: string): ServiceStatus {
  const st: ServiceStatus = {
    namespace: svc.metadata.namespace,
    name: svc.metadata.name,
    listeners: [],
    ingress: [],
    problems,
  };
  if (lb) {
    st.listeners = lb.listeners.map(buildListenerStatus);
    st.ingress = [
      {
        hostname: lb.hostname,
        ip: bindAddressFor(lb.scheme, lbAddress),
        ports: lb.listeners.map((l) => ({ port: l.servicePort, protocol: 'TCP' })),
      },
    ];
  }
  return st;
}

export function buildListenerStatus(l: BalancerListener): ServiceListenerStatus {
  const host = l.bindAddress.includes(':') ? `[${l.bindAddress}]` : l.bindAddress;
  const s: ServiceListenerStatus = {
    port: l.servicePort,
    address: `${host}:${l.bindPort}`,
    protocol: l.protocol,
    certificates: l.tls ? l.tls.certificates.map((c) => c.arn) : [],
    targetProtocol: l.targetProtocol,
    proxyProtocol: l.proxyProtocol,
    sourceRanges: [...l.sourceRanges],
    targets: l.targets.map((t) => ({
      address: t.address === '' ? t.kind : t.address,
      port: t.port,
      health: 'unknown' as const,
    })),
  };
  if (l.tls) {
    s.policy = l.tls.policy.name;
    s.alpn = l.tls.alpn ? [...l.tls.alpn] : [];
  }
  return s;
}
