// HTTPRoute backendRefs (and RequestMirror's backendRef) resolved to
// clusters: core Services only, another namespace only under a
// ReferenceGrant, and the port must exist. A reference that does not
// resolve records the ResolvedRefs reason of the spec (InvalidKind,
// RefNotPermitted, BackendNotFound) and gets no cluster.
import type { IsobarConfig } from '../config/index.ts';
import type { CacheView } from './cache-view.ts';
import { GATEWAY_GROUP } from './gateway-conditions.ts';
import type { ReferenceGrants } from './gateway-refs.ts';
import type { ClusterShape, Output } from './output.ts';
import type { UpstreamProtocol } from './proxy-config.ts';
import { int, rec, str } from './safe.ts';

export interface RefProblem {
  reason: 'InvalidKind' | 'RefNotPermitted' | 'BackendNotFound' | 'UnsupportedProtocol';
  message: string;
}

export interface BackendContext {
  view: CacheView;
  grants: ReferenceGrants;
  config: IsobarConfig;
  out: Output;
}

/** The cluster name for a backendRef of a route in `routeNs`, or why none. */
export function resolveBackend(ctx: BackendContext, raw: unknown, routeNs: string, routeKind: string): { cluster: string } | RefProblem {
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
  const protocol: UpstreamProtocol = s.protocol === '' ? 'http1' : (s.protocol as UpstreamProtocol);
  if (protocol !== 'http1' && protocol !== 'h2c') {
    // TLS to a backend belongs with a BackendTLSPolicy (not read yet): never unvalidated by accident.
    return { reason: 'UnsupportedProtocol', message: `Service ${namespace}/${name} port ${port} asks for TLS (${s.protocol}); TLS to backends of HTTPRoutes is not supported yet` };
  }
  const shape: ClusterShape = {
    protocol,
    loadBalancer: { strategy: 'RoundRobin', hashPolicies: [] },
    connectTimeoutMs: ctx.config.timeouts?.connectTimeoutMs ?? 2000,
    idleConnectionTimeoutMs: 60 * 60 * 1000,
  };
  return { cluster: ctx.out.cluster(namespace, name, port, shape, () => ctx.view.endpointsFor(s), s) };
}
