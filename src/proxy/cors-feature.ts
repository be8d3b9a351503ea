// CORS in the request-filter chain, first as in Envoy: a preflight from an
// allowed origin is answered here with 200 before any other filter (so
// before authentication), and every response to a CORS request from an
// allowed origin, the upstream's or a later filter's local answer (a 403
// of an IP filter, a 401 of JWT), gets Access-Control-Allow-Origin and the
// rest, replacing any the upstream sent.
import type { CorsConfig, Route, SecureVirtualHost, VirtualHost } from '../dag/index.ts';
import { compileCors, corsDecision, type CompiledCors } from './cors.ts';
import type { FilterFeature, FilterRequest, FilterVerdict, RequestFilter } from './request-filter.ts';
import type { RequestHeaders } from './upstream-request.ts';

class CorsFilter implements RequestFilter {
  readonly name = 'cors';
  readonly #policy: CompiledCors;
  constructor(policy: CompiledCors) {
    this.#policy = policy;
  }
  onRequest(req: FilterRequest): FilterVerdict {
    const d = corsDecision(this.#policy, req.method, req.headers);
    return d.kind === 'preflight' ? { status: 200, headers: d.headers } : undefined;
  }
  onResponse(req: FilterRequest, _status: number, headers: RequestHeaders): void {
    const d = corsDecision(this.#policy, req.method, req.headers);
    if (d.kind !== 'response') return;
    for (const k in d.headers) headers[k] = d.headers[k];
  }
}

export class CorsFeature implements FilterFeature {
  readonly name = 'cors';
  readonly #compiled = new WeakMap<CorsConfig, CorsFilter>();

  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route): RequestFilter | undefined {
    const policy = route.cors ?? vhost.cors;
    if (policy === undefined) return undefined;
    let f = this.#compiled.get(policy);
    if (!f) this.#compiled.set(policy, (f = new CorsFilter(compileCors(policy))));
    return f;
  }
}
