// Snapshot and Service builders for model tests.

import type { EndpointSlice, Endpoints, Secret, Service, Snapshot } from '../../src/objects/types.ts';
import type { EdgeCertificate } from '../../src/balancer/index.ts';
import { defaultConfig } from '../../src/config/types.ts';
import { Problems } from '../../src/balancer/model-problems.ts';

export const SBK = 'service.beta.kubernetes.io/';
export const ARN1 = 'arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e';
export const ARN2 = 'arn:aws:acm:local:000000000000:certificate/11111111-2222-4333-8444-555555555555';

export function cert(arn: string, domains: string[]): EdgeCertificate {
  return { arn, certPem: `-----BEGIN CERTIFICATE-----\n${arn}\n-----END CERTIFICATE-----\n`, chainPem: '', domains, notAfter: '2030-01-01T00:00:00.000Z' };
}
export const CERTS = [cert(ARN1, ['www.example.com']), cert(ARN2, ['*.example.com'])];

export function service(o: {
  ns?: string;
  name?: string;
  annotations?: Record<string, string>;
  ports?: Service['spec']['ports'];
  type?: string;
  loadBalancerClass?: string;
  externalTrafficPolicy?: string;
}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: o.ns ?? 'default', name: o.name ?? 'web', annotations: o.annotations ?? { [`${SBK}aws-load-balancer-type`]: 'nlb-ip' } },
    spec: {
      type: o.type ?? 'LoadBalancer',
      ports: o.ports ?? [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'https', port: 443, targetPort: 8443 },
      ],
      ...(o.loadBalancerClass ? { loadBalancerClass: o.loadBalancerClass } : {}),
      ...(o.externalTrafficPolicy ? { externalTrafficPolicy: o.externalTrafficPolicy } : {}),
    },
  };
}

export function nlb(annotations: Record<string, string> = {}): Record<string, string> {
  return { [`${SBK}aws-load-balancer-type`]: 'nlb-ip', ...annotations };
}

export function endpoints(ns: string, name: string, ips: string[], ports: { name?: string; port: number }[], notReady: string[] = []): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { namespace: ns, name },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), notReadyAddresses: notReady.map((ip) => ({ ip })), ports }],
  };
}

export function slice(ns: string, svc: string, name: string, eps: { ip: string; ready?: boolean }[], ports: { name?: string; port: number }[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: eps.map((e) => ({ addresses: [e.ip], ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }) })),
    ports,
  };
}

export function secret(ns: string, name: string, data: Record<string, string>): Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: ns, name }, type: 'Opaque', data };
}

export function snapshot(o: Partial<Snapshot>): Snapshot {
  return { httpproxies: [], delegations: [], services: [], secrets: [], endpoints: [], endpointSlices: [], rejected: [], ...o };
}

export function options(over: Record<string, unknown> = {}) {
  return { config: defaultConfig(), certificates: CERTS, lbAddress: '127.0.0.1', portOffset: 10000, ...over };
}

/** A problems collector for the default/web Service, and what it collected
 *  as "severity: message" lines, for tests of one builder. */
export function problems(): Problems {
  return new Problems(service({}));
}
export function said(p: Problems): string[] {
  return p.list.map((x) => `${x.severity}: ${x.message}`);
}
