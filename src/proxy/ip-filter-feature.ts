// IP filters in the request-filter chain (Envoy's rbac filter, where
// Contour puts ipAllowPolicy / ipDenyPolicy): a route's own rules, else its
// virtual host's; a request they refuse gets 403 "RBAC: access denied" and
// never reaches the upstream. Peer is the address of the connection the
// proxy accepted; Remote the client address it derived (the PROXY header's
// source when one was received).
import type { IpFilterConfig, Route, SecureVirtualHost, VirtualHost } from '../dag/index.ts';
import { compileIpFilter, ipFilterAllows, RBAC_DENIED_BODY, type CompiledIpFilter } from './ip-filter.ts';
import type { FilterFeature, FilterRequest, FilterVerdict, LocalAnswer, RequestFilter } from './request-filter.ts';

const DENIED: LocalAnswer = { status: 403, body: RBAC_DENIED_BODY };

class IpFilter implements RequestFilter {
  readonly name = 'rbac';
  readonly #rules: CompiledIpFilter;
  constructor(rules: CompiledIpFilter) {
    this.#rules = rules;
  }
  onRequest(req: FilterRequest): FilterVerdict {
    return ipFilterAllows(this.#rules, req.conn.peerAddress, req.conn.clientAddress) ? undefined : DENIED;
  }
}

export class IpFilterFeature implements FilterFeature {
  readonly name = 'rbac';
  /** Compiled once per rules object: many routes share their vhost's. */
  readonly #compiled = new WeakMap<IpFilterConfig, IpFilter>();

  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route): RequestFilter | undefined {
    const rules = route.ipFilter ?? vhost.ipFilter;
    if (rules === undefined) return undefined;
    let f = this.#compiled.get(rules);
    if (!f) this.#compiled.set(rules, (f = new IpFilter(compileIpFilter(rules))));
    return f;
  }
}
