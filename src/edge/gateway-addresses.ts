// A Gateway's status.addresses, and whether the addresses its spec asks
// for are among them, as Contour decides both (internal/k8s/statusaddress.go
// writes the addresses, gatewayapi_processor.go's isAddressAssigned checks
// spec.addresses against them).
import type { DagResult } from '../dag/index.ts';
import { loadBalancerName } from '../dag/index.ts';
import type { Gateway, Service } from '../objects/index.ts';
import type { ApiCondition, LoadBalancerIngressStatus, ServiceStatus } from '../status/index.ts';

type GatewayApi = DagResult['gatewayApi'];
type Address = { type: string; value: string };

/** status.addresses of each Gateway: a Gateway with a load balancer of its
 *  own gets that one's hostname and IP as the balancer model reports them;
 *  one whose load balancer could not be made (AddressNotAssigned) gets
 *  none; the others are served on the proxy's own listeners, behind the
 *  ingress Service, and get its address, as Contour gives a statically
 *  provisioned Gateway the Envoy Service's. */
export function withGatewayAddresses(api: GatewayApi, services: ServiceStatus[], gatewayLbs: Service[], front: LoadBalancerIngressStatus[], raw: Gateway[]): GatewayApi {
  if (!api) return api;
  const ownLb = new Set(gatewayLbs.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  const gateways = api.gateways.map((g) => {
    const lbName = loadBalancerName(g.name);
    let from: LoadBalancerIngressStatus[];
    if (ownLb.has(`${g.namespace}/${lbName}`)) from = services.find((s) => s.namespace === g.namespace && s.name === lbName)?.ingress ?? [];
    else if (g.conditions.some((c) => c.type === 'Programmed' && c.reason === 'AddressNotAssigned')) from = [];
    else from = front;
    const addresses: Address[] = [];
    for (const i of from) {
      if (i.ip) addresses.push({ type: 'IPAddress', value: i.ip });
      if (i.hostname) addresses.push({ type: 'Hostname', value: i.hostname });
    }
    const wanted = specAddresses(raw.find((x) => x.metadata.namespace === g.namespace && x.metadata.name === g.name));
    const conditions = wanted.length > 0 && !wanted.some((w) => addresses.some((a) => a.type === w.type && a.value === w.value)) ? notAssigned(g.conditions) : g.conditions;
    return addresses.length === 0 && conditions === g.conditions ? g : { ...g, addresses, conditions };
  });
  return { ...api, gateways };
}

/** spec.addresses, each with its type defaulted as the API does. */
function specAddresses(gw: Gateway | undefined): Address[] {
  const list = (gw?.spec as { addresses?: unknown } | undefined)?.addresses;
  if (!Array.isArray(list)) return [];
  return list.map((a) => {
    const r = (a ?? {}) as { type?: unknown; value?: unknown };
    return { type: typeof r.type === 'string' && r.type !== '' ? r.type : 'IPAddress', value: typeof r.value === 'string' ? r.value : '' };
  });
}

/** A programmed Gateway none of whose spec.addresses it got: Contour's
 *  condition, word for word. */
function notAssigned(conditions: ApiCondition[]): ApiCondition[] {
  return conditions.map((c) =>
    c.type === 'Programmed' && c.status === 'True'
      ? { ...c, status: 'False' as const, reason: 'AddressNotAssigned', message: 'None of the addresses in Spec.Addresses have been assigned to the Gateway' }
      : c,
  );
}
