// The status isobar writes for the Gateway API kinds, and what "changed"
// means for them. Conditions get a lastTransitionTime, kept from what the
// server shows while a condition's status is the same. Routes and policies
// are shared with other controllers: only the entries with isobar's
// controllerName are isobar's, the others are written back as they are.
import type { ApiCondition, GatewayClassStatus, GatewayStatus, PolicyStatus, RouteStatus } from '../status/index.ts';

export type GatewayKind = 'GatewayClass' | 'Gateway' | 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'BackendTLSPolicy';
export const GATEWAY_KINDS: readonly GatewayKind[] = ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'BackendTLSPolicy'];

const CONTROLLER = 'projectcontour.io/gateway-controller';

type Obs = Record<string, any>;
type AnyStatus = GatewayClassStatus | GatewayStatus | RouteStatus | PolicyStatus;

const list = (v: unknown): Obs[] => (Array.isArray(v) ? (v as Obs[]) : []);

/** Conditions without lastTransitionTime, in the order given. */
function condKey(conds: unknown): unknown[] {
  return list(conds).map((c) => [c.type, c.status, c.observedGeneration, c.reason, c.message]);
}

function stamp(conds: ApiCondition[], observed: unknown, now: string): Record<string, unknown>[] {
  const seen = list(observed);
  return conds.map((c) => {
    const o = seen.find((x) => x.type === c.type);
    const time = o && o.status === c.status && typeof o.lastTransitionTime === 'string' ? o.lastTransitionTime : now;
    return { type: c.type, status: c.status, observedGeneration: c.observedGeneration, lastTransitionTime: time, reason: c.reason, message: c.message };
  });
}

const refKey = (r: unknown): string => {
  const o = (r ?? {}) as Obs;
  return JSON.stringify([o.group ?? 'gateway.networking.k8s.io', o.kind ?? 'Gateway', o.namespace ?? '', o.name ?? '', o.sectionName ?? '', o.port ?? '']);
};

const ours = (e: Obs): boolean => e.controllerName === CONTROLLER;

/** The fingerprint of isobar's part of a status, ours or as observed. */
export function gatewayFingerprint(kind: GatewayKind, s: unknown): string {
  const o = (s ?? {}) as Obs;
  switch (kind) {
    case 'GatewayClass':
      return JSON.stringify(condKey(o.conditions));
    case 'Gateway':
      return JSON.stringify([
        list(o.addresses).map((a) => [a.type, a.value]),
        condKey(o.conditions),
        list(o.listeners).map((l) => [l.name, list(l.supportedKinds).map((k) => [k.group, k.kind]), l.attachedRoutes, condKey(l.conditions)]),
      ]);
    case 'BackendTLSPolicy':
      return JSON.stringify(list(o.ancestors).filter(ours).map((a) => [refKey(a.ancestorRef), condKey(a.conditions)]));
    default:
      return JSON.stringify(list(o.parents).filter(ours).map((p) => [refKey(p.parentRef), condKey(p.conditions)]));
  }
}

/** The status to write: isobar's part stamped, other controllers' entries kept. */
export function gatewayStatusBody(kind: GatewayKind, s: AnyStatus, observed: unknown, now: string): Record<string, unknown> {
  const o = (observed ?? {}) as Obs;
  switch (kind) {
    case 'GatewayClass':
      return { conditions: stamp((s as GatewayClassStatus).conditions, o.conditions, now) };
    case 'Gateway': {
      const g = s as GatewayStatus;
      return {
        addresses: g.addresses,
        conditions: stamp(g.conditions, o.conditions, now),
        listeners: g.listeners.map((l) => ({
          name: l.name,
          supportedKinds: l.supportedKinds,
          attachedRoutes: l.attachedRoutes,
          conditions: stamp(l.conditions, list(o.listeners).find((x) => x.name === l.name)?.conditions, now),
        })),
      };
    }
    case 'BackendTLSPolicy': {
      const p = s as PolicyStatus;
      const others = list(o.ancestors).filter((a) => !ours(a));
      const mine = p.ancestors.map((a) => ({
        ancestorRef: a.ancestorRef,
        controllerName: a.controllerName,
        conditions: stamp(a.conditions, list(o.ancestors).find((x) => ours(x) && refKey(x.ancestorRef) === refKey(a.ancestorRef))?.conditions, now),
      }));
      return { ancestors: [...others, ...mine] };
    }
    default: {
      const r = s as RouteStatus;
      const others = list(o.parents).filter((p) => !ours(p));
      const mine = r.parents.map((p) => ({
        parentRef: p.parentRef,
        controllerName: p.controllerName,
        conditions: stamp(p.conditions, list(o.parents).find((x) => ours(x) && refKey(x.parentRef) === refKey(p.parentRef))?.conditions, now),
      }));
      return { parents: [...others, ...mine] };
    }
  }
}
