// The request filter chain: which features exist, in which order, and how
// one request runs through the filters of its route. The order is Envoy's as
// Contour configures its HTTP filters (cors, local rate limit, rbac for IP
// filters, jwt_authn, ext_authz, global rate limit, then the router), so a
// preflight is answered before authentication and a denied address never
// reaches an authorization server. Adding a feature is one line below.
import type { Route, SecureVirtualHost, VirtualHost, ProxyConfig } from '../dag/index.ts';
import type { ProxyContext } from './context.ts';
import type { FilterFeature, FilterRequest, FilterVerdict, RequestFilter } from './request-filter.ts';
import { JwtFeature } from './jwt-filter.ts';
import { CorsFeature } from './cors-feature.ts';
import { LocalRateLimitFeature } from './local-rate-limit.ts';
import { IpFilterFeature } from './ip-filter-feature.ts';
import { ExtAuthzFeature } from './ext-authz/index.ts';
import { GlobalRateLimitFeature } from './rate-limit/index.ts';

/** What features may use of the runtime. */
export type FilterEnv = Pick<ProxyContext, 'logger' | 'warnOnce' | 'stats'>;

/** The features in filter order. */
export function createFilterFeatures(env: FilterEnv): FilterFeature[] {
  return [
    new CorsFeature(),
    new LocalRateLimitFeature(),
    new IpFilterFeature(),
    new JwtFeature(env),
    new ExtAuthzFeature(env),
    new GlobalRateLimitFeature(env),
  ];
}

const NONE: readonly RequestFilter[] = Object.freeze([]);

/** The features of one runtime, applied config after config. */
export class FilterChain {
  readonly #features: FilterFeature[];

  constructor(features: FilterFeature[]) {
    this.#features = features;
  }

  apply(config: ProxyConfig): void {
    for (const f of this.#features) f.apply?.(config);
  }

  /** The filters of one route, in order; a shared empty list when none. */
  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route, secure: boolean): readonly RequestFilter[] {
    let out: RequestFilter[] | undefined;
    for (const f of this.#features) {
      const filter = f.forRoute(vhost, route, secure);
      if (filter !== undefined) (out ??= []).push(filter);
    }
    return out ?? NONE;
  }

  close(): void {
    for (const f of this.#features) f.close?.();
  }
}

/** Runs `filters` from index `from` on; gives the first answer, or undefined
 *  when every filter let the request through. Stays synchronous while the
 *  filters are, so a route with only synchronous filters costs no tick. The
 *  callback learns how many filters ran (for their response hooks). */
export function runFilters(
  filters: readonly RequestFilter[],
  req: FilterRequest,
  ran: (count: number) => void,
  from = 0,
): FilterVerdict | Promise<FilterVerdict> {
  for (let i = from; i < filters.length; i++) {
    ran(i + 1);
    const v = filters[i]!.onRequest(req);
    if (v instanceof Promise) return v.then((r) => (r !== undefined ? r : runFilters(filters, req, ran, i + 1)));
    if (v !== undefined) return v;
  }
  return undefined;
}
