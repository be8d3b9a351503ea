// HTTPRoute backendRefs (and RequestMirror's backendRef) resolved to
// clusters: core Services only, another namespace only under a
// ReferenceGrant, and the port must exist. A reference that does not
// resolve records the ResolvedRefs reason of the spec (InvalidKind,
// RefNotPermitted, BackendNotFound) and gets no cluster.
import type { IsobarConfig } from '../config/index.ts';
import type { CacheView } from './cache-view.ts';
import type { BackendTLSPolicies } from './gateway-backend-tls.ts';
import { GATEWAY_GROUP } from './gateway-conditions.ts';
import type { ReferenceGrants } from './gateway-refs.ts';
import type { ClusterShape, Output } from './output.ts';
import type { TlsVersion, UpstreamProtocol, UpstreamTls } from './proxy-config.ts';
import { int, rec, str } from './safe.ts';
import { addConnectionSettings } from './service-cluster.ts';

export interface RefProblem {
  reason: 'InvalidKind' | 'RefNotPermitted' | 'BackendNotFound' | 'UnsupportedProtocol';
  message: string;
}

export interface BackendContext {
  view: CacheView;
  grants: ReferenceGrants;
  config: IsobarConfig;
  out: Output;
  policies: BackendTLSPolicies;
  /** The Gateway ("ns/name") the route is attached to: a BackendTLSPolicy's ancestor. */
  gateway: string;
  /** Its spec.backendTLS.clientCertificateRef, as a TlsSecret id. */
  clientCertificateId?: string;
}

/** A backend that must not be reached (its BackendTLSPolicy is not valid): it answers 500. */
export interface Unreachable {
  unreachable: true;
}

const version = (v: string | undefined, d: TlsVersion): TlsVersion => (v === '1.2' || v === '1.3' ? v : d);

/** The cluster name for a backendRef of a route in `routeNs`, or why none.
 *  `mode`: h2c for GRPCRoute backends (h2 with a BackendTLSPolicy);
 *  passthrough for TLSRoute backends (the client's TLS goes through whole). */
export function resolveBackend(ctx: BackendContext, raw: unknown, routeNs: string, routeKind: string, mode?: 'h2c' | 'passthrough'): { cluster: string } | RefProblem | Unreachable {
  const ref = rec(raw) ?? {};
  const group = str(ref.group);
  const kind = typeof ref.kind === 'string' ? ref.kind : 'Service';
  const name = str(ref.name);
  const namespace = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : routeNs;
  if (group !== '' || kind !== 'Service') {
    return { reason: 'InvalidKind', message: `backendRef ${group === '' ? 'core' : group}/${kind} "${name}" is not supported: only core Services are` };
  }
  if (!ctx.grants.permitted({ group: GATEWAY_GROUP, kind: routeKind, namespace: routeNs }, { group: '', kind: 'Service', namespace, name })) {
    return { reason: 'RefNotPermitted', message: `backendRef Service ${namespace}/${name} is in another namespace and no ReferenceGrant there allows ${routeKind}s of namespace ${routeNs} to use it` };
  }
  const port = int(ref.port);
  if (port === 0) return { reason: 'BackendNotFound', message: `backendRef Service ${namespace}/${name} needs a port` };
  const found = ctx.view.lookupService(namespace, name, port, ctx.config.enableExternalNameService === true);
  if (!found.ok) return { reason: 'BackendNotFound', message: `backendRef ${found.error}` };
  const s = found.value;
  let protocol: UpstreamProtocol = s.protocol === '' ? (mode === 'h2c' ? 'h2c' : 'http1') : (s.protocol as UpstreamProtocol);
  let tls: UpstreamTls | undefined;
  const policy = mode === 'passthrough' ? undefined : ctx.policies.forService(namespace, name, str(s.port.name));
  if (mode === 'passthrough') protocol = 'http1'; // bytes through: the cluster only names the endpoints
  else if (policy) {
    ctx.policies.reached(namespace, name, str(s.port.name), ctx.gateway);
    if (!policy.ok) return { unreachable: true };
    protocol = protocol === 'h2' || protocol === 'h2c' ? 'h2' : 'tls';
    tls = {
      sni: policy.sni,
      validation: { caBundleId: policy.caBundleId, subjectNames: policy.subjectNames, ...(policy.uriSubjectNames.length > 0 ? { uriSubjectNames: policy.uriSubjectNames } : {}) },
      minVersion: version(ctx.config.upstreamTls?.minimumProtocolVersion, '1.2'),
      maxVersion: version(ctx.config.upstreamTls?.maximumProtocolVersion, '1.3'),
    };
    if (ctx.clientCertificateId !== undefined) tls.clientCertificateId = ctx.clientCertificateId;
    ctx.out.addCaBundle({ id: policy.caBundleId, caPem: policy.caPem });
  } else if (protocol !== 'http1' && protocol !== 'h2c') {
    // TLS to a backend of a route is what a BackendTLSPolicy asks for: never unvalidated by accident.
    return { reason: 'UnsupportedProtocol', message: `Service ${namespace}/${name} port ${port} asks for TLS (${s.protocol}) but no BackendTLSPolicy targets it` };
  }
  const shape: ClusterShape = {
    protocol,
    loadBalancer: { strategy: 'RoundRobin', hashPolicies: [] },
    connectTimeoutMs: ctx.config.timeouts?.connectTimeoutMs ?? 2000,
    idleConnectionTimeoutMs: 60 * 60 * 1000,
  };
  if (tls) shape.tls = tls;
  if (mode !== 'passthrough') addConnectionSettings(shape, ctx.config);
  return { cluster: ctx.out.cluster(namespace, name, port, shape, () => ctx.view.endpointsFor(s), s) };
}
