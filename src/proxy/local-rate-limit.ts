// Local rate limits in the request-filter chain (Envoy's local_ratelimit
// filter, second after CORS as Contour orders them): a route's own policy,
// else its virtual host's, each with a token bucket of its own; a request
// that finds the bucket empty gets the configured status (429 by default)
// with Envoy's body "local_rate_limited", the policy's response headers and
// the RL flag, and never reaches the upstream. No x-ratelimit-* headers
// (Contour leaves them off). The buckets live in each proxy worker, as
// Envoy's live in each Envoy instance: with N workers a client may get up
// to N times the limit.
import type { LocalRateLimitConfig, ProxyConfig, Route, SecureVirtualHost, VirtualHost } from '../dag/index.ts';
import { IntervalTokenBucket } from './local-rate-limit-bucket.ts';
import type { FilterFeature, FilterVerdict, LocalAnswer, RequestFilter } from './request-filter.ts';

export const LOCAL_RATE_LIMITED_BODY = 'local_rate_limited';

class LocalRateLimitFilter implements RequestFilter {
  readonly name = 'local_ratelimit';
  readonly #bucket: IntervalTokenBucket;
  readonly #answer: LocalAnswer;
  constructor(policy: LocalRateLimitConfig) {
    this.#bucket = new IntervalTokenBucket(policy.maxTokens, policy.tokensPerFill, policy.fillIntervalMs);
    const headers: Record<string, string> = {};
    for (const h of policy.responseHeaders) headers[h.name.toLowerCase()] = h.value;
    this.#answer = { status: policy.statusCode, headers, body: LOCAL_RATE_LIMITED_BODY, flag: 'RL' };
  }
  onRequest(): FilterVerdict {
    // A fresh headers object each time: the exchange's response hooks may add to it.
    return this.#bucket.take() ? undefined : { ...this.#answer, headers: { ...this.#answer.headers } };
  }
}

/** Which bucket a policy uses: its listener, its virtual host, the route
 *  when the route has its own, and the policy itself. A config swap that
 *  keeps all four keeps the bucket (a swap must not hand out new tokens);
 *  the plain and the TLS listener's virtual hosts of one fqdn are two
 *  virtual hosts in Envoy, each with its own bucket. */
function bucketKey(secure: boolean, vhost: VirtualHost, route: Route | undefined, policy: LocalRateLimitConfig): string {
  const where = route ? JSON.stringify([route.path, route.headers, route.queryParams]) : '';
  return `${secure ? 'https' : 'http'}\u0000${vhost.fqdn}\u0000${where}\u0000${JSON.stringify(policy)}`;
}

export class LocalRateLimitFeature implements FilterFeature {
  readonly name = 'local_ratelimit';
  readonly #filters = new Map<string, LocalRateLimitFilter>();

  /** Forgets the buckets of policies the new config no longer has. */
  apply(config: ProxyConfig): void {
    if (this.#filters.size === 0) return;
    const live = new Set<string>();
    const visit = (vhosts: readonly VirtualHost[], secure: boolean) => {
      for (const vh of vhosts) {
        if (vh.localRateLimit) live.add(bucketKey(secure, vh, undefined, vh.localRateLimit));
        for (const r of vh.routes) if (r.localRateLimit) live.add(bucketKey(secure, vh, r, r.localRateLimit));
      }
    };
    visit(config.httpVirtualHosts, false);
    visit(config.httpsVirtualHosts, true);
    for (const k of this.#filters.keys()) if (!live.has(k)) this.#filters.delete(k);
  }

  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route, secure: boolean): RequestFilter | undefined {
    const own = route.localRateLimit;
    const policy = own ?? vhost.localRateLimit;
    if (policy === undefined) return undefined;
    const key = bucketKey(secure, vhost, own ? route : undefined, policy);
    let f = this.#filters.get(key);
    if (!f) this.#filters.set(key, (f = new LocalRateLimitFilter(policy)));
    return f;
  }

  close(): void {
    this.#filters.clear();
  }
}
