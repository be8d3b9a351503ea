// Envoy's ext_authz filter for the request-filter chain: on a virtual host
// with authorization, each route whose policy does not disable it sends a
// Check to the ExtensionService before the request goes on; a denial (or,
// without failOpen, a failure) is answered at the edge and the upstream
// never sees the request. The client of an ExtensionService is looked up at
// request time from the last applied config, because compiled routes
// outlive applies; a name with no usable cluster is a failed Check, never
// a pass. Contour's HTTP listener has only the global filter; here a
// virtual host's own authorization also guards its permitInsecure routes
// there (the DAG puts it on both listeners' virtual hosts).
import { randomInt } from 'node:crypto';
import type { ExternalAuthorization, ProxyConfig, Route, SecureVirtualHost, VirtualHost } from '../../dag/index.ts';
import type { FilterEnv } from '../filter-chain.ts';
import type { FilterFeature, FilterRequest, FilterVerdict, LocalAnswer, RequestFilter } from '../request-filter.ts';
import { authorize, countDecision } from './authorize.ts';
import { collectBody } from './body-buffer.ts';
import { AuthzClientRegistry } from './client-registry.ts';
import { decideFailure } from './decision.ts';
import { mutateHeaderObject, mutateQuery, mutateRequestHeaders } from './mutations.ts';
import type { AuthzDecision, AuthzSettings, HeaderMutation, RequestFacts } from './types.ts';

const UNAVAILABLE = 14;

/** Request headers the check request does not carry as the client sent
 *  them: framing, and what the edge sets itself (added after). */
const NOT_SENT = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings', 'x-forwarded-proto', 'x-request-id', 'x-envoy-external-address']);

function protocolOf(httpVersion: string): RequestFacts['protocol'] {
  return httpVersion === '1.0' ? 'HTTP/1.0' : httpVersion.startsWith('2') ? 'HTTP/2' : 'HTTP/1.1';
}

/** The request's headers as Envoy's connection manager leaves them for its
 *  filters: the client's (never its x-envoy-*), then the forwarding headers. */
function checkHeaders(req: FilterRequest): string[] {
  const list: string[] = [];
  const h = req.headers;
  for (const name in h) {
    if (name.charCodeAt(0) === 58 /* : */ || NOT_SENT.has(name) || name.startsWith('x-envoy-')) continue;
    const v = h[name];
    if (name === 'x-forwarded-for') continue;
    if (typeof v === 'string') list.push(name, v);
    else if (v !== undefined) for (const x of v) list.push(name, x);
  }
  const prior = h['x-forwarded-for'];
  const priorXff = prior === undefined ? '' : typeof prior === 'string' ? prior : prior.join(', ');
  const client = req.conn.clientAddress;
  // Appended the connection's client; the external address is the trusted one.
  const appended = req.conn.connectionAddress ?? client;
  list.push(
    'x-forwarded-for',
    priorXff ? `${priorXff}, ${appended}` : appended,
    'x-forwarded-proto',
    req.scheme,
    'x-envoy-external-address',
    client,
    'x-request-id',
    req.requestId,
  );
  return list;
}

export class ExtAuthzFeature implements FilterFeature {
  readonly name = 'ext_authz';
  readonly #env: FilterEnv;
  readonly #clients = new AuthzClientRegistry();
  /** Response headers an OK Check asked for, until the response goes out. */
  readonly #responseHeaders = new WeakMap<FilterRequest, HeaderMutation[]>();

  constructor(env: FilterEnv) {
    this.#env = env;
  }

  apply(config: ProxyConfig): void {
    this.#clients.applyConfig(config);
  }

  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route, _secure: boolean): RequestFilter | undefined {
    const auth = vhost.authorization;
    if (!auth || route.authorization?.disabled) return undefined;
    const context = route.authorization?.context ?? {};
    // A plain-HTTP request on such a route is redirected to https without a
    // Check, as Contour disables ext_authz there; one a TLS-terminating load
    // balancer sent on is checked.
    const redirectsPlain = route.httpsRedirect === true;
    return {
      name: this.name,
      onRequest: (req) => (redirectsPlain && req.scheme === 'http' ? undefined : this.#check(req, auth, context)),
      onResponse: (req, _status, headers) => {
        const m = this.#responseHeaders.get(req);
        if (m) mutateHeaderObject(headers, m);
      },
    };
  }

  async #check(req: FilterRequest, auth: ExternalAuthorization, context: Record<string, string>): Promise<FilterVerdict> {
    const startTimeMs = Date.now();
    const settings: AuthzSettings = { timeoutMs: auth.responseTimeoutMs, failOpen: auth.failOpen };
    if (auth.withRequestBody) settings.withRequestBody = auth.withRequestBody;
    const facts: RequestFacts = {
      // Envoy's stream id: a 64-bit number, here 48 random bits.
      id: String(randomInt(0, 2 ** 48 - 1)),
      method: req.method,
      path: req.query === '' ? req.path : `${req.path}?${req.query}`,
      host: req.authority,
      scheme: req.scheme,
      protocol: protocolOf(req.httpVersion),
      headers: checkHeaders(req),
      source: req.conn.clientCertPem
        ? { address: req.conn.clientAddress, port: req.conn.clientPort, certificatePem: req.conn.clientCertPem }
        : { address: req.conn.clientAddress, port: req.conn.clientPort },
      destination: { address: req.conn.localAddress ?? '', port: req.conn.localPort ?? 0 },
      startTimeMs,
      contextExtensions: context,
    };
    if (settings.withRequestBody && req.body) {
      const got = await collectBody(req.body, settings.withRequestBody);
      // The decoder buffer limit, as Envoy answers it.
      if (got.kind === 'tooLarge') return { status: 413, body: 'Payload Too Large' };
      if (got.kind === 'aborted') return { status: 400, flag: 'DPE' };
      facts.body = { data: got.data, received: got.received };
      req.replaceBody(got.replay());
    }
    const client = this.#clients.usable(auth.extensionCluster);
    const decision: AuthzDecision = client
      ? await authorize(client, settings, facts)
      : decideFailure(UNAVAILABLE, `no usable extension cluster ${auth.extensionCluster}`, auth.failOpen);
    const target = req.targetCounters;
    if (target !== undefined) countDecision(target.extAuthz, decision);
    if (decision.kind === 'deny') {
      if (decision.outcome === 'error') {
        this.#env.warnOnce(`ext_authz|${auth.extensionCluster}`, { cluster: auth.extensionCluster, detail: decision.detail }, 'authorization server failed: requests are refused');
      }
      const answer: LocalAnswer = { status: decision.status, flag: 'UAEX' };
      const headers = mutateHeaderObject({}, decision.headers);
      if (Object.keys(headers).length > 0) answer.headers = headers as Record<string, string | string[]>;
      if (decision.body !== '') answer.body = decision.body;
      return answer;
    }
    if (decision.outcome === 'failure_mode_allowed') {
      this.#env.warnOnce(`ext_authz|${auth.extensionCluster}`, { cluster: auth.extensionCluster, detail: decision.detail }, 'authorization server failed: failOpen lets requests through');
    }
    const m = decision.mutations;
    mutateRequestHeaders(req.headers, m.headers, m.headersToRemove);
    if (m.queryToSet.length > 0 || m.queryToRemove.length > 0) req.replaceQuery(mutateQuery(req.query, m.queryToSet, m.queryToRemove));
    if (m.responseHeaders.length > 0) this.#responseHeaders.set(req, m.responseHeaders);
    return undefined;
  }

  close(): void {
    this.#clients.close();
  }
}
