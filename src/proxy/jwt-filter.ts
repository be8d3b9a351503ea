// Envoy's jwt_authn filter for the request-filter chain: a route that
// requires a provider gets a filter that verifies the request's tokens with
// that provider of its virtual host, and answers 401/403 itself when they
// fail, so the upstream never sees such a request. A provider's verifier
// (and the JWKS cache behind it) is looked up at request time from the
// last applied config, keyed by listener and fqdn, because compiled routes
// outlive applies. Unlike Contour, whose HTTP listener has no jwt_authn
// filter, a permitInsecure route is verified on the plain listener too.
import type { ProxyConfig, Route, SecureVirtualHost, VirtualHost } from '../dag/index.ts';
import type { FilterEnv } from './filter-chain.ts';
import { JwtKeyStore, resolveProvider, type FetchEvent, type JwtStoreOptions, type JwtVerifier } from './jwt/index.ts';
import type { FilterFeature, FilterRequest, FilterVerdict, RequestFilter } from './request-filter.ts';

function keyOf(secure: boolean, fqdn: string): string {
  return `${secure ? 'https' : 'http'}|${fqdn}`;
}

export class JwtFeature implements FilterFeature {
  readonly name = 'jwt_authn';
  readonly #store: JwtKeyStore;
  /** listener|fqdn -> provider name -> verifier, for the applied config. */
  #verifiers = new Map<string, Map<string, JwtVerifier>>();

  constructor(env: FilterEnv, opts: JwtStoreOptions = {}) {
    const onFetch = (e: FetchEvent): void => {
      opts.onFetch?.(e);
      if (!e.ok) env.warnOnce(`jwks|${e.uri}`, { uri: e.uri, error: e.error }, 'JWKS fetch failed: requests needing it get 401');
    };
    this.#store = new JwtKeyStore({ ...opts, onFetch });
  }

  apply(config: ProxyConfig): void {
    const caPem = new Map(config.caBundles.map((b) => [b.id, b.caPem]));
    const hosts: { key: string; vhost: VirtualHost }[] = [];
    for (const v of config.httpVirtualHosts) if (v.jwt) hosts.push({ key: keyOf(false, v.fqdn), vhost: v });
    for (const v of config.httpsVirtualHosts) if (v.jwt) hosts.push({ key: keyOf(true, v.fqdn), vhost: v });
    const lists = hosts.map(({ vhost }) => vhost.jwt!.providers.map((p) => resolveProvider(p, (id) => caPem.get(id))));
    const verifiers = this.#store.apply(lists);
    this.#verifiers = new Map(hosts.map(({ key }, i) => [key, verifiers[i]!]));
  }

  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route, secure: boolean): RequestFilter | undefined {
    const provider = route.jwt?.provider;
    if (provider === undefined) return undefined;
    const key = keyOf(secure, vhost.fqdn);
    // A plain-HTTP request on such a route is redirected to https, unverified
    // as in Envoy; one a TLS-terminating load balancer sent on is verified.
    const redirectsPlain = route.httpsRedirect === true;
    return {
      name: this.name,
      onRequest: (req) => (redirectsPlain && req.scheme === 'http' ? undefined : this.#check(req, key, provider)),
    };
  }

  async #check(req: FilterRequest, key: string, provider: string): Promise<FilterVerdict> {
    const verifier = this.#verifiers.get(key)?.get(provider);
    // The DAG only names providers the virtual host has: a miss is a bug, refused.
    if (!verifier) throw new Error(`JWT provider ${JSON.stringify(provider)} of ${key} is not in the applied config`);
    const target = req.query === '' ? req.path : `${req.path}?${req.query}`;
    const verdict = await verifier.verify({ headers: req.headers, path: target, scheme: req.scheme, authority: req.authority });
    if (!verdict.ok) return { status: verdict.status, headers: { 'www-authenticate': verdict.wwwAuthenticate }, body: verdict.body };
    for (const h of verdict.removeHeaders) delete req.headers[h];
    if (verdict.path !== undefined) {
      const q = verdict.path.indexOf('?');
      req.replaceQuery(q < 0 ? '' : verdict.path.slice(q + 1));
    }
    return undefined;
  }

  get keySources(): number {
    return this.#store.size;
  }
}
