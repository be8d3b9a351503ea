// Envoy's ratelimit filter for the request-filter chain (after ext_authz,
// as Contour orders it): a route's own descriptors, else its virtual
// host's (unless the route disables them), are sent to the config file's
// rate limit service with ShouldRateLimit; OVER_LIMIT answers 429 with
// x-envoy-ratelimited and the RL flag, and the upstream never sees the
// request. A service that fails or does not answer in time refuses the
// request (500, RLSE) unless failOpen. Requests for which no descriptor
// can be made are not sent. The client of the service is looked up at
// request time from the last applied config, as ext_authz's.
import type { GlobalRateLimitPolicyConfig, ProxyConfig, RateLimitServiceConfig, Route, SecureVirtualHost, VirtualHost } from '../../dag/index.ts';
import { AuthzClientRegistry, type UnaryResult } from '../ext-authz/index.ts';
import type { FilterEnv } from '../filter-chain.ts';
import type { FilterFeature, FilterRequest, FilterVerdict, LocalAnswer, RequestFilter } from '../request-filter.ts';
import type { RequestHeaders } from '../upstream-request.ts';
import { compileDescriptors, type Describe, type DescriptorRequest } from './descriptors.ts';
import { CODE, shouldRateLimitMethod, type RateLimitResponseMsg } from './proto.ts';
import { xRateLimitHeaders } from './x-ratelimit-headers.ts';

const UNAVAILABLE = 14;
const RESOURCE_EXHAUSTED = 8;

function describeView(req: FilterRequest): DescriptorRequest {
  const h = req.headers;
  const first = (name: string): string | undefined => {
    const v = h[name];
    return typeof v === 'string' ? v : v?.[0];
  };
  return {
    path: req.path,
    query: req.query,
    header: (name) => {
      if (name === 'host' || name === ':authority') return req.authority;
      const v = h[name];
      return typeof v === 'string' ? v : v?.join(',');
    },
    firstHeader: (name) => (name === 'host' || name === ':authority' ? req.authority : first(name)),
    clientAddress: req.conn.clientAddress,
  };
}

export class GlobalRateLimitFeature implements FilterFeature {
  readonly name = 'ratelimit';
  readonly #env: FilterEnv;
  readonly #clients = new AuthzClientRegistry();
  /** Response headers the service asked for, until the response goes out. */
  readonly #responseHeaders = new WeakMap<FilterRequest, Record<string, string>>();

  constructor(env: FilterEnv) {
    this.#env = env;
  }

  apply(config: ProxyConfig): void {
    this.#clients.applyConfig(config);
  }

  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route): RequestFilter | undefined {
    const policy: GlobalRateLimitPolicyConfig | undefined = route.globalRateLimit ?? (route.ignoreVirtualHostGlobalRateLimit ? undefined : vhost.globalRateLimit);
    if (!policy) return undefined;
    const describe = compileDescriptors(policy);
    return {
      name: this.name,
      onRequest: (req) => this.#check(req, policy.service, describe),
      onResponse: (req, _status, headers) => {
        const add = this.#responseHeaders.get(req);
        if (add) Object.assign(headers, add);
      },
    };
  }

  async #check(req: FilterRequest, service: RateLimitServiceConfig, describe: Describe): Promise<FilterVerdict> {
    const descriptors = describe(describeView(req));
    if (descriptors.length === 0) return undefined;
    const client = this.#clients.usable(service.extensionCluster);
    const result: UnaryResult<RateLimitResponseMsg> = client
      ? await client.unary(shouldRateLimitMethod(), { domain: service.domain, descriptors, hits_addend: 1 }, service.timeoutMs)
      : { ok: false, code: UNAVAILABLE, message: `no usable extension cluster ${service.extensionCluster}` };
    // Counted in the route target cluster's scope, as Envoy's
    // cluster.<route target cluster>.ratelimit.*.
    const stats = req.targetCounters?.rateLimit;
    if (!result.ok) {
      if (stats) stats.error++;
      const key = `ratelimit|${service.extensionCluster}`;
      const detail = { cluster: service.extensionCluster, code: result.code, detail: result.message };
      if (service.failOpen) {
        if (stats) stats.failure_mode_allowed++;
        this.#env.warnOnce(key, detail, 'rate limit service failed: failOpen lets requests through');
        return undefined;
      }
      this.#env.warnOnce(key, detail, 'rate limit service failed: requests are refused');
      return { status: 500, flag: 'RLSE' };
    }
    const res = result.response;
    const headers: Record<string, string> = {};
    for (const h of res.response_headers_to_add) headers[h.key.toLowerCase()] = h.value;
    if (service.enableXRateLimitHeaders) Object.assign(headers, xRateLimitHeaders(res.statuses));
    if (res.overall_code === CODE.OVER_LIMIT) {
      if (stats) stats.over_limit++;
      const answer: LocalAnswer = { status: 429, headers: { ...headers, 'x-envoy-ratelimited': 'true' }, flag: 'RL' };
      if (service.enableResourceExhaustedCode) answer.grpcStatus = RESOURCE_EXHAUSTED;
      return answer;
    }
    if (stats) stats.ok++;
    const reqHeaders: RequestHeaders = req.headers;
    for (const h of res.request_headers_to_add) reqHeaders[h.key.toLowerCase()] = h.value;
    if (Object.keys(headers).length > 0) this.#responseHeaders.set(req, headers);
    return undefined;
  }

  close(): void {
    this.#clients.close();
  }
}
