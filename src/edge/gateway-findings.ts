// The Gateway API objects that make `check` (and `status`) exit 1: a
// GatewayClass or Gateway not accepted, a listener not programmed, a route
// parent not accepted or with unresolved references, a BackendTLSPolicy not
// accepted on an ancestor. Each names the condition's reason and message.
import type { ApiCondition, StatusReport } from '../status/index.ts';

export interface GatewayApiError {
  kind: string;
  namespace: string;
  name: string;
  message: string;
}

const failed = (conds: ApiCondition[], types: string[]): ApiCondition[] => conds.filter((c) => types.includes(c.type) && c.status === 'False');
const text = (c: ApiCondition): string => `${c.type} ${c.reason}: ${c.message}`;

export function gatewayApiErrors(r: StatusReport): GatewayApiError[] {
  const out: GatewayApiError[] = [];
  for (const c of r.gatewayclasses ?? []) for (const x of failed(c.conditions, ['Accepted'])) out.push({ kind: 'GatewayClass', namespace: '', name: c.name, message: text(x) });
  for (const g of r.gateways ?? []) {
    for (const x of failed(g.conditions, ['Accepted', 'Programmed', 'ResolvedRefs'])) out.push({ kind: 'Gateway', namespace: g.namespace, name: g.name, message: text(x) });
    for (const l of g.listeners) {
      for (const x of failed(l.conditions, ['Accepted', 'Programmed', 'ResolvedRefs'])) out.push({ kind: 'Gateway', namespace: g.namespace, name: g.name, message: `listener ${l.name}: ${text(x)}` });
    }
  }
  const routes: [string, StatusReport['httproutes']][] = [
    ['HTTPRoute', r.httproutes],
    ['GRPCRoute', r.grpcroutes],
    ['TLSRoute', r.tlsroutes],
    ['TCPRoute', r.tcproutes],
  ];
  for (const [kind, list] of routes) {
    for (const route of list ?? []) {
      for (const p of route.parents) {
        const parent = `${p.parentRef.namespace}/${p.parentRef.name}${p.parentRef.sectionName ? `/${p.parentRef.sectionName}` : ''}`;
        for (const x of failed(p.conditions, ['Accepted', 'ResolvedRefs'])) out.push({ kind, namespace: route.namespace, name: route.name, message: `parent ${parent}: ${text(x)}` });
      }
    }
  }
  for (const p of r.backendtlspolicies ?? []) {
    for (const a of p.ancestors) {
      for (const x of failed(a.conditions, ['Accepted', 'ResolvedRefs'])) out.push({ kind: 'BackendTLSPolicy', namespace: p.namespace, name: p.name, message: `ancestor ${a.ancestorRef.namespace}/${a.ancestorRef.name}: ${text(x)}` });
    }
  }
  return out;
}
