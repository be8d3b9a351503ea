// The load balancer itself: scheme, name and DNS name, and the address its
// listeners bind (the AWS controller's model_build_load_balancer.go).

import type { Service } from '../objects/index.ts';
import type { BalancerListener, LoadBalancer } from './balancer-config.ts';
import { A, annotation, parseBool, type Annotations } from './annotations.ts';
import { loadBalancerHostname, loadBalancerName } from './hostname.ts';
import type { Problems } from './model-problems.ts';

export type Scheme = LoadBalancer['scheme'];

/** scheme, else the deprecated internal flag, else `fallback` (the scheme
 *  the Service already has, or internal). */
export function buildScheme(ann: Annotations, fallback: Scheme, p: Problems): Scheme {
  const scheme = annotation(ann, A.scheme);
  const internal = annotation(ann, A.internal);
  if (scheme !== undefined) {
    const v = scheme.trim();
    const valid = v === 'internal' || v === 'internet-facing';
    if (!valid) p.error(A.scheme, `"${scheme}" is not a scheme (use internal or internet-facing)`);
    if (internal !== undefined) p.warn(A.internal, `ignored: ${A.scheme} takes precedence`);
    return valid ? v : fallback;
  }
  if (internal !== undefined) {
    const b = parseBool(internal);
    if (b.ok) return b.value ? 'internal' : 'internet-facing';
    p.error(A.internal, b.message);
  }
  return fallback;
}

/** The name annotation, else the controller's generated name. */
export function buildLoadBalancerName(ann: Annotations, clusterName: string, svc: Service, scheme: Scheme, p: Problems): string {
  const generated = loadBalancerName(clusterName, svc.metadata.namespace, svc.metadata.name, scheme);
  const name = annotation(ann, A.name);
  if (name === undefined) return generated;
  const v = name.trim();
  if (/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(v)) return v;
  p.error(A.name, `"${name}" is not a load balancer name (1-32 letters, digits and hyphens, not starting or ending with a hyphen)`);
  return generated;
}

/** scheme internal: reachable from this host only (loopback); otherwise
 *  the configured load balancer address. */
export function bindAddressFor(scheme: Scheme, lbAddress: string): string {
  if (scheme !== 'internal') return lbAddress;
  if (lbAddress === '::1' || lbAddress.startsWith('127.')) return lbAddress;
  return lbAddress.includes(':') ? '::1' : '127.0.0.1';
}

export function buildLoadBalancer(svc: Service, name: string, region: string, scheme: Scheme, listeners: BalancerListener[]): LoadBalancer {
  return {
    namespace: svc.metadata.namespace,
    name: svc.metadata.name,
    hostname: loadBalancerHostname(name, region),
    scheme,
    listeners,
  };
}
