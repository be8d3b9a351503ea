// Builders for the Gateway API dag tests: the objects, a snapshot holding
// them beside the core objects, and compact summaries of statuses so a row
// states every condition it expects in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, type DagResult } from '../../src/dag/index.ts';
import type { AnyObject, BackendTLSPolicy, ConfigMap, Gateway, GatewayClass, GRPCRoute, HTTPRoute, Namespace, ReferenceGrant, Snapshot, TCPRoute, TLSRoute } from '../../src/objects/types.ts';
import type { ApiCondition, GatewayStatus, RouteStatus } from '../../src/status/types.ts';
import { config, snapshot } from './fixtures.ts';

export const GROUP = 'gateway.networking.k8s.io';
export const CONTROLLER = 'projectcontour.io/gateway-controller';

export function gatewayClass(name = 'contour', spec: Partial<GatewayClass['spec']> = {}): GatewayClass {
  return { apiVersion: `${GROUP}/v1`, kind: 'GatewayClass', metadata: { name, namespace: 'default', generation: 1 }, spec: { controllerName: CONTROLLER, ...spec } };
}

type Listener = Gateway['spec']['listeners'][number];

export function gateway(name: string, listeners: Listener[], opts: { namespace?: string; className?: string; spec?: Record<string, unknown>; creation?: string } = {}): Gateway {
  const metadata: Gateway['metadata'] = { name, namespace: opts.namespace ?? 'infra', generation: 2 };
  if (opts.creation) metadata.creationTimestamp = opts.creation;
  return { apiVersion: `${GROUP}/v1`, kind: 'Gateway', metadata, spec: { gatewayClassName: opts.className ?? 'contour', listeners, ...opts.spec } as Gateway['spec'] };
}

export const http = (name = 'http', extra: Partial<Listener> = {}): Listener => ({ name, port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } }, ...extra });
export const https = (name: string, secret: string, extra: Partial<Listener> = {}): Listener => ({
  name,
  port: 443,
  protocol: 'HTTPS',
  tls: { certificateRefs: [{ name: secret }] },
  allowedRoutes: { namespaces: { from: 'All' } },
  ...extra,
});

export function httpRoute(name: string, spec: HTTPRoute['spec'], opts: { namespace?: string; creation?: string } = {}): HTTPRoute {
  const metadata: HTTPRoute['metadata'] = { name, namespace: opts.namespace ?? 'default', generation: 3 };
  if (opts.creation) metadata.creationTimestamp = opts.creation;
  return { apiVersion: `${GROUP}/v1`, kind: 'HTTPRoute', metadata, spec };
}

export function referenceGrant(name: string, namespace: string, from: { group: string; kind: string; namespace: string }[], to: { group: string; kind: string; name?: string }[]): ReferenceGrant {
  return { apiVersion: `${GROUP}/v1`, kind: 'ReferenceGrant', metadata: { name, namespace }, spec: { from, to } };
}

export function namespace(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, namespace: 'default', labels } };
}

/** A parentRef to the Gateway infra/gw (the rows' usual one). */
export const toGw = (extra: Record<string, unknown> = {}) => ({ name: 'gw', namespace: 'infra', ...extra });

export function gwSnapshot(objects: AnyObject[]): Snapshot {
  const s = snapshot(objects.filter((o) => !['GatewayClass', 'Gateway', 'HTTPRoute', 'ReferenceGrant', 'Namespace', 'BackendTLSPolicy', 'ConfigMap', 'GRPCRoute', 'TLSRoute', 'TCPRoute'].includes(o.kind)));
  s.gatewayClasses = objects.filter((o): o is GatewayClass => o.kind === 'GatewayClass');
  s.gateways = objects.filter((o): o is Gateway => o.kind === 'Gateway');
  s.httpRoutes = objects.filter((o): o is HTTPRoute => o.kind === 'HTTPRoute');
  s.referenceGrants = objects.filter((o): o is ReferenceGrant => o.kind === 'ReferenceGrant');
  s.namespaces = objects.filter((o): o is Namespace => o.kind === 'Namespace');
  s.backendTLSPolicies = objects.filter((o): o is BackendTLSPolicy => o.kind === 'BackendTLSPolicy');
  s.configMaps = objects.filter((o): o is ConfigMap => o.kind === 'ConfigMap');
  s.grpcRoutes = objects.filter((o): o is GRPCRoute => o.kind === 'GRPCRoute');
  s.tlsRoutes = objects.filter((o): o is TLSRoute => o.kind === 'TLSRoute');
  s.tcpRoutes = objects.filter((o): o is TCPRoute => o.kind === 'TCPRoute');
  return s;
}

export function runGw(objects: AnyObject[]): DagResult {
  return build(gwSnapshot(objects), config());
}

/** "Type=Status/Reason" of each condition, in order. */
export const conds = (list: ApiCondition[]): string[] => list.map((c) => `${c.type}=${c.status}/${c.reason}`);

/** A listener in one line: attached routes, then its four conditions. */
export function listenerLine(l: GatewayStatus['listeners'][number]): string {
  return `${l.attachedRoutes} ${conds(l.conditions).join(' ')}`;
}

/** The usual healthy listener with n attached routes. */
export const OK_LISTENER = (n: number) => `${n} Accepted=True/Accepted Programmed=True/Programmed ResolvedRefs=True/ResolvedRefs Conflicted=False/NoConflicts`;

/** Each parent of a route in one line: "ns/name[/section]: conditions". */
export function parentLines(r: RouteStatus): string[] {
  return r.parents.map((p) => `${p.parentRef.namespace}/${p.parentRef.name}${p.parentRef.sectionName ? `/${p.parentRef.sectionName}` : ''}: ${conds(p.conditions).join(' ')}`);
}

export const ROUTE_OK = 'Accepted=True/Accepted ResolvedRefs=True/ResolvedRefs';

export interface GwExpect {
  /** "ns/name" -> the Gateway's conditions. */
  gateways?: Record<string, string[]>;
  /** "ns/name/listener" -> listenerLine. */
  listeners?: Record<string, string>;
  /** "ns/name" -> parentLines. */
  routes?: Record<string, string[]>;
}

export interface GwRow {
  name: string;
  objects: AnyObject[];
  expect: GwExpect;
  check?: (r: DagResult) => void;
}

export function assertGw(r: DagResult, e: GwExpect): void {
  const api = r.gatewayApi;
  assert.ok(api, 'the result has Gateway API statuses');
  if (e.gateways) {
    const got = Object.fromEntries(api.gateways.map((g) => [`${g.namespace}/${g.name}`, conds(g.conditions)]));
    assert.deepEqual(got, e.gateways, 'gateway conditions');
  }
  if (e.listeners) {
    const got: Record<string, string> = {};
    for (const g of api.gateways) for (const l of g.listeners) if (`${g.namespace}/${g.name}/${l.name}` in e.listeners) got[`${g.namespace}/${g.name}/${l.name}`] = listenerLine(l);
    assert.deepEqual(got, e.listeners, 'listener statuses');
  }
  if (e.routes) {
    const got = Object.fromEntries(api.httproutes.map((x) => [`${x.namespace}/${x.name}`, parentLines(x)]));
    assert.deepEqual(got, e.routes, 'route parents');
  }
}

export function runGwRows(rows: readonly GwRow[]): void {
  for (const row of rows) {
    test(row.name, () => {
      const r = runGw(row.objects);
      assertGw(r, row.expect);
      row.check?.(r);
    });
  }
}
