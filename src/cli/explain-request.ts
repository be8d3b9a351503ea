// What the edge would do with one request, and why: the load balancer
// listener it reaches (when a port is given), the proxy listener, the TLS
// choice, the virtual host, the routes passed over (with the condition that
// did not hold) and the one that matched, the filters on it, and then the
// cluster choice or the local reply. The proxy's own compiled tables and
// matchers decide (src/proxy: findVhost, matchRoute, the TLS table, the IP
// filter and CORS decisions, the failure table); this file only asks them
// and says what they answered. Pure: configs and a request in, data out.
import type { BalancerConfig, BalancerListener } from '../balancer/index.ts';
import type { Cluster, ProxyConfig, Route, SecureVirtualHost, VirtualHost } from '../dag/index.ts';
import {
  FAILURES,
  RouteTableCompiler,
  TlsTableBuilder,
  authorityPort,
  compileCors,
  compileIpFilter,
  corsDecision,
  findVhost,
  matchRoute,
  httpsRedirectLocation,
  ipFilterAllows,
  normalizeHost,
  queryParam,
  redirectLocation,
  RBAC_DENIED_BODY,
  type CompiledRoute,
  type FailureCode,
  type RequestView,
  type TlsChoice,
  canonicalPath,
} from '../proxy/index.ts';
import type { HTTPProxyStatus } from '../status/index.ts';
import { conditionsText, routeConditions, whyNot } from './explain-conditions.ts';

export interface ExplainRequest {
  /** Host header (or :authority), as sent: may carry a port. */
  host: string;
  /** Path with an optional query string. */
  path: string;
  method: string;
  /** Request headers, names as given (compared lower-case). */
  headers: [string, string][];
  clientIp: string;
  /** SNI of the TLS ClientHello; on a TLS listener it defaults to the host, as curl and browsers send. */
  sni?: string;
  /** The port the client connects to: a load balancer listener's, or a proxy listener's. */
  port?: number;
  /** Without a port: which proxy listener (default https with --sni, else
   *  http), or a Gateway port listener by name (http-81, tcp-5000). */
  listener?: string;
}

export interface ProxyListenerInfo {
  name: string;
  port: number;
  tls: boolean;
  proxyProtocol: boolean;
}

export interface ExplainInput {
  proxyConfig: ProxyConfig;
  balancerConfig?: BalancerConfig;
  httpproxies: HTTPProxyStatus[];
  proxyListeners: ProxyListenerInfo[];
  /** The config file's merge_slashes (not disableMergeSlashes); default true. */
  mergeSlashes?: boolean;
}

export interface ClusterChoice {
  cluster: string;
  service: string;
  /** This cluster's share of the route's requests, percent. */
  share: number;
  protocol: string;
  tls?: { sni?: string; validation?: { caBundle: string; subjectNames: string[] }; clientCertificate?: string; versions: string };
  endpoints: string[];
  loadBalancer: string;
  healthCheck?: string;
}

export interface Explanation {
  request: { method: string; scheme: 'http' | 'https'; authority: string; host: string; path: string; query: string; clientIp: string; sni?: string };
  loadBalancer?: { listener: string; address: string; protocol: string; certificates: string[]; sourceRanges: string[]; targets: string[]; proxyProtocol: boolean; forwardsTo: string };
  listener?: { name: string; port?: number; tls: boolean; proxyProtocol: boolean };
  tls?: { sni: string | null; choice: string; detail: string };
  virtualHost?: { fqdn: string; listener: string; httpproxies: string[] };
  /** Routes tried before the match, in order, each with the condition that did not hold. */
  passedOver: { index: number; conditions: string; from: string; failed: string }[];
  route?: { index: number; conditions: string; from: string; action: string; settings: string[] };
  /** The route's request filters, in the proxy's filter order. */
  filters: { name: string; config: string; verdict: string }[];
  upstream?: { clusters: ClusterChoice[]; mirror?: string; protocol?: string };
  reply?: { status: number; flag: string; reason: string; location?: string; body?: string };
  /** Closed before any HTTP (no TLS choice, passthrough, a load balancer without the proxy behind it). */
  connection?: string;
  /** Things worth knowing for a request that does not do what was hoped. */
  notes: string[];
}

/** A wrong flag (a port nothing listens on): the command exits 2 with it. */
export class ExplainUsageError extends Error {}

export function explainRequest(input: ExplainInput, req: ExplainRequest): Explanation {
  const config = input.proxyConfig;
  const [rawPath = '/', ...rest] = req.path.split('?');
  const query = rest.join('?');
  const hash = rawPath.indexOf('#');
  const path = canonicalPath(hash >= 0 ? rawPath.slice(0, hash) : rawPath, input.mergeSlashes ?? true);
  if (path === undefined) throw new ExplainUsageError(`the path ${JSON.stringify(rawPath)} holds %00: the proxy answers 400 before routing`);
  const host = normalizeHost(req.host);
  const headers = new Map<string, string>();
  for (const [k, v] of req.headers) {
    const name = k.toLowerCase();
    headers.set(name, headers.has(name) ? `${headers.get(name)},${v}` : v);
  }
  const view: RequestView = {
    path,
    query,
    // Host and :authority are one field, as in the exchange.
    header: (name) => headers.get(name) ?? (name === 'host' || name === ':authority' ? req.host : name === ':method' ? req.method : undefined),
  };
  const out: Explanation = {
    request: { method: req.method, scheme: 'http', authority: req.host, host, path, query, clientIp: req.clientIp },
    passedOver: [],
    filters: [],
    notes: [],
  };

  // ---- where the connection lands ----
  const entry = entryPoint(input, req, out);
  if (entry === undefined) return out;
  const { listener, https } = entry;
  out.request.scheme = https ? 'https' : 'http';
  const warnings: string[] = [];
  const warn = (fqdn: string, message: string): void => void warnings.push(`${fqdn}: ${message}`);
  const noClusters = { get: () => undefined };
  // A Gateway port listener routes on its own hosts (or forwards TCP).
  const port = config.listeners?.find((l) => l.name === listener.name);
  const onPort = port?.name;
  if (port?.protocol === 'tcp') {
    if (port.tcpProxy) {
      out.connection = `forwarded as TCP to the TCPRoute of port listener ${port.name}: no HTTP routing`;
      out.upstream = { clusters: clusterChoices(port.tcpProxy.clusters, config) };
    } else out.connection = `closed: no TCPRoute forwards port listener ${port.name}`;
    return finish(out, warnings);
  }
  const tables = new RouteTableCompiler().compile(config, noClusters, warn, undefined, onPort);

  let choice: TlsChoice | undefined;
  if (listener.tls) {
    const sni = req.sni !== undefined ? req.sni.toLowerCase() : host !== '' ? host : undefined;
    out.request.sni = sni;
    const table = new TlsTableBuilder(undefined).build(config, noClusters, warn, onPort);
    choice = (sni !== undefined ? table.byName.lookup(sni) : undefined) ?? table.fallback;
    if (choice === undefined) {
      out.tls = { sni: sni ?? null, choice: 'none', detail: sni === undefined ? 'no SNI and no fallback certificate' : `no virtual host for SNI ${JSON.stringify(sni)} and no fallback certificate` };
      out.connection = 'closed during the TLS handshake: no filter chain matches, as Envoy';
      noteHost(input, host, out);
      return finish(out, warnings);
    }
    const vh = config.httpsVirtualHosts.find((v) => v.fqdn.toLowerCase() === choice!.fqdn && v.listener === onPort);
    if (choice.passthrough && vh?.passthrough) {
      out.tls = { sni: sni ?? null, choice: `virtual host ${choice.fqdn}`, detail: 'TLS passthrough: the encrypted stream is forwarded as it is, by SNI' };
      out.connection = 'forwarded as TCP (TLS passthrough): no HTTP routing';
      out.upstream = { clusters: clusterChoices(vh.passthrough.clusters, config) };
      return finish(out, warnings);
    }
    out.tls = { sni: sni ?? null, choice: choice.fqdn === '' ? 'the fallback certificate' : `virtual host ${choice.fqdn}`, detail: tlsDetail(vh, config, choice) };
    if (choice.tcpProxy && vh?.tcpProxy) {
      out.connection = 'TLS terminated, then forwarded as TCP (TCPProxy): no HTTP routing';
      out.upstream = { clusters: clusterChoices(vh.tcpProxy.clusters, config) };
      return finish(out, warnings);
    }
  }

  // ---- virtual host ----
  const found = findVhost(tables, choice, host);
  if (found === 'no-route' || found === 'misdirected') {
    out.reply = local(found, found === 'misdirected' ? `the Host ${JSON.stringify(host)} is not the virtual host the TLS handshake chose (${choice?.fqdn || 'the fallback certificate'})` : `no virtual host ${JSON.stringify(host)} on the ${listener.name} listener`);
    noteHost(input, host, out, listener.tls ? 'https' : 'http');
    return finish(out, warnings);
  }
  const vhost = found.config;
  out.virtualHost = {
    fqdn: vhost.fqdn,
    listener: listener.name,
    httpproxies: [...new Set([...rootsOf(input, vhost.fqdn), ...vhost.routes.filter((r) => !r.origin.kind).map((r) => `${r.origin.namespace}/${r.origin.name}`)])],
  };

  // ---- routes: the proxy's matchRoute picks; each route before its pick
  // is asked, predicate by predicate, which condition did not hold ----
  const matched: CompiledRoute | undefined = matchRoute(found, view);
  const until = matched === undefined ? found.routes.length : found.routes.indexOf(matched);
  for (let i = 0; i < until; i++) {
    const r = found.routes[i]!;
    const failed = r.preds.findIndex((p) => !p(view));
    const cond = routeConditions(r.route)[failed]!;
    out.passedOver.push({ index: i + 1, conditions: conditionsText(r.route), from: origin(r.route), failed: whyNot(cond, path, view.header, (n) => queryParam(query, n)) });
  }
  if (matched !== undefined) {
    const r = matched.route;
    out.route = { index: until + 1, conditions: conditionsText(r), from: origin(r), action: actionText(r), settings: routeSettings(r) };
  } else {
    out.reply = local('no-route', `no route of ${vhost.fqdn} matches`);
    noteInvalid(input, vhost.fqdn, out);
    return finish(out, warnings);
  }
  const route = matched.route;

  // ---- request filters, in Envoy's order (filter-chain.ts): cors, local_ratelimit, rbac, jwt_authn, ext_authz ----
  const answered = runFilters(vhost, route, req, https, headers, entry.peer, out);
  if (answered) return finish(out, warnings);

  // ---- the route's action ----
  const a = route.action;
  const redirect = { scheme: out.request.scheme, host, port: authorityPort(req.host), path, query, matchedPrefix: matched.prefix };
  if (route.httpsRedirect && !https) {
    out.reply = { status: 301, flag: '-', reason: 'the virtual host has TLS and this route does not permit insecure requests: redirected to https', location: httpsRedirectLocation(redirect) };
  } else if (a.kind === 'redirect') {
    out.reply = { status: a.statusCode, flag: '-', reason: 'the route is a redirect (requestRedirectPolicy)', location: redirectLocation(a, redirect) };
  } else if (a.kind === 'direct') {
    out.reply = { status: a.statusCode, flag: '-', reason: directReason(input, route), ...(a.body ? { body: a.body } : {}) };
  } else {
    const clusters = clusterChoices(
      matched.backends.map((b) => ({ cluster: b.name, weight: b.upTo })),
      config,
      matched.totalWeight,
    );
    out.upstream = { clusters, ...(a.mirrors ? { mirror: a.mirrors.map((m) => `${m.percent}% of requests copied to ${m.cluster}`).join(', ') + ' (answers dropped)' } : {}) };
    if (clusters.length === 0 || clusters.every((c) => c.endpoints.length === 0)) {
      out.reply = local('no-healthy-upstream', clusters.length === 0 ? 'the route has no cluster with a weight above 0' : 'no cluster of the route has a ready endpoint');
    }
  }
  return finish(out, warnings);
}

interface Entry {
  listener: ProxyListenerInfo;
  https: boolean;
  /** The address the proxy sees the connection come from (RBAC's Peer). */
  peer: string;
}

/** The listener the request reaches: through a load balancer listener when
 *  the port is one, else the proxy listener of that port or the one asked for. */
function entryPoint(input: ExplainInput, req: ExplainRequest, out: Explanation): Entry | undefined {
  const proxyListener = (name: string): ProxyListenerInfo => {
    const known = input.proxyListeners.find((l) => l.name === name);
    if (known) return known;
    const port = input.proxyConfig.listeners?.find((l) => l.name === name);
    if (port) return { name, port: port.bindPort, tls: port.protocol === 'https', proxyProtocol: false };
    if (name !== 'http' && name !== 'https') {
      const names = ['http', 'https', ...(input.proxyConfig.listeners ?? []).map((l) => l.name)];
      throw new ExplainUsageError(`no proxy listener "${name}"; the listeners are: ${names.join(', ')}`);
    }
    return { name, port: name === 'https' ? 8443 : 8080, tls: name === 'https', proxyProtocol: false };
  };
  if (req.port !== undefined) {
    const lbs = (input.balancerConfig?.loadBalancers ?? []).flatMap((lb) => lb.listeners.map((l) => ({ lb, l })));
    const hit = lbs.find(({ l }) => l.bindPort === req.port) ?? lbs.find(({ l }) => l.servicePort === req.port);
    if (hit) return throughLoadBalancer(hit.l, `${hit.lb.namespace}/${hit.lb.name}`, req, proxyListener, out);
    const pl = input.proxyListeners.find((l) => l.port === req.port);
    if (!pl) {
      const known = [
        ...lbs.map(({ l }) => `${l.bindPort} (load balancer ${l.id})`),
        ...input.proxyListeners.map((l) => `${l.port} (proxy ${l.name})`),
      ];
      throw new ExplainUsageError(`nothing listens on port ${req.port}; the ports are: ${known.join(', ') || 'none'}`);
    }
    out.listener = { name: pl.name, port: pl.port, tls: pl.tls, proxyProtocol: pl.proxyProtocol };
    return { listener: pl, https: pl.tls, peer: req.clientIp };
  }
  const pl = proxyListener(req.listener ?? (req.sni !== undefined ? 'https' : 'http'));
  out.listener = { name: pl.name, port: pl.port, tls: pl.tls, proxyProtocol: pl.proxyProtocol };
  return { listener: pl, https: pl.tls, peer: req.clientIp };
}

function throughLoadBalancer(l: BalancerListener, service: string, req: ExplainRequest, proxyListener: (name: string) => ProxyListenerInfo, out: Explanation): Entry | undefined {
  const toProxy = l.targets.find((t) => t.kind !== 'endpoint');
  out.loadBalancer = {
    listener: l.id,
    address: `${l.bindAddress}:${l.bindPort}`,
    protocol: l.tls ? `TLS terminated (policy ${l.tls.policy.name}), then ${l.targetProtocol}` : `${l.protocol} → ${l.targetProtocol}`,
    certificates: (l.tls?.certificates ?? []).map((c) => `${c.arn} (${c.domains.join(', ')})`),
    sourceRanges: l.sourceRanges,
    targets: l.targets.map((t) => (t.kind === 'endpoint' ? `${t.address}:${t.port}` : t.kind === 'proxy-port' ? `the proxy's port listener ${t.listener ?? ''}` : `the proxy's ${t.kind === 'proxy-https' ? 'HTTPS' : 'HTTP'} listener`)),
    proxyProtocol: l.proxyProtocol,
    forwardsTo: toProxy ? (toProxy.kind === 'proxy-port' ? `proxy ${toProxy.listener ?? ''}` : toProxy.kind === 'proxy-https' ? 'proxy https' : 'proxy http') : 'targets',
  };
  if (l.targets.length === 0) {
    out.connection = `Service ${service} has no target: the load balancer closes the connection`;
    return undefined;
  }
  if (!toProxy) {
    out.connection = `forwarded by the load balancer to its targets (${l.targetSelection}), not through the proxy`;
    return undefined;
  }
  const pl = proxyListener(toProxy.kind === 'proxy-port' ? (toProxy.listener ?? '') : toProxy.kind === 'proxy-https' ? 'https' : 'http');
  out.listener = { name: pl.name, tls: pl.tls, proxyProtocol: true };
  // A TLS listener tells the proxy, in the PROXY header's SSL TLV, that the
  // client used TLS: the proxy then takes the request as https.
  const https = pl.tls || (l.protocol === 'TLS' && l.proxyProtocol && l.proxyProtocolTlvs.includes('ssl'));
  if (l.protocol === 'TLS' && !https) out.notes.push(`the load balancer terminates TLS but sends no PROXY SSL TLV (isobar.dev/proxy-protocol-tlvs: ssl): the proxy takes the request as plain http`);
  return { listener: pl, https, peer: l.proxyProtocol ? '127.0.0.1' : req.clientIp };
}

function tlsDetail(vh: SecureVirtualHost | undefined, config: ProxyConfig, choice: TlsChoice): string {
  if (choice.fqdn === '') return `terminated with the fallback certificate (Secret ${config.fallbackCertificateId}); only virtual hosts that enable it are reachable`;
  if (!vh) return 'terminated';
  const parts = [`terminated with Secret ${vh.secretId ?? '(none)'}`, `TLS ${vh.minVersion}–${vh.maxVersion}`];
  const cv = vh.clientValidation;
  if (cv) {
    if (cv.skipVerification) parts.push('client certificate requested, not verified');
    else parts.push(`client certificate ${cv.optional ? 'optional (verified when sent)' : 'required'} against CA ${cv.caBundleId ?? '(none)'}${cv.crlOnlyVerifyLeafCert ? ', CRL on the leaf only' : ''}`);
    if (cv.forwardClientCertificate) parts.push('X-Forwarded-Client-Cert set');
  }
  return parts.join(', ');
}

function runFilters(vhost: VirtualHost, route: Route, req: ExplainRequest, https: boolean, headers: Map<string, string>, peer: string, out: Explanation): boolean {
  if (vhost.cors) {
    const d = corsDecision(compileCors(vhost.cors), req.method, Object.fromEntries(headers));
    const origins = vhost.cors.allowOrigin.map((o) => (o.kind === 'regex' ? `/${o.value}/` : o.value)).join(', ');
    if (d.kind === 'preflight') {
      out.filters.push({ name: 'cors', config: `origins ${origins}`, verdict: 'preflight from an allowed origin: answered here' });
      out.reply = { status: 200, flag: '-', reason: 'CORS preflight answered by the proxy' };
      return true;
    }
    out.filters.push({ name: 'cors', config: `origins ${origins}`, verdict: d.kind === 'response' ? 'allowed origin: CORS headers added to the response' : 'not a CORS request from an allowed origin: nothing added' });
  }
  const rl = route.localRateLimit ?? vhost.localRateLimit;
  if (rl) {
    // The bucket's state lives in each proxy worker: say what passes, not whether this one would.
    const config = `${rl.maxTokens} tokens, ${rl.tokensPerFill} more every ${rl.fillIntervalMs / 1000} s (${route.localRateLimit ? 'the route' : 'the virtual host'}'s, per proxy worker)`;
    out.filters.push({ name: 'local_ratelimit', config, verdict: `passes while the bucket has a token, else ${rl.statusCode} local_rate_limited` });
  }
  const ip = route.ipFilter ?? vhost.ipFilter;
  if (ip) {
    const allows = ipFilterAllows(compileIpFilter(ip), peer, req.clientIp);
    const rules = ip.rules.map((r) => `${r.source} ${r.cidr}`).join(', ');
    out.filters.push({ name: 'rbac', config: `${ip.action} ${rules} (${route.ipFilter ? 'the route' : 'the virtual host'}'s)`, verdict: allows ? `client ${req.clientIp} allowed` : `client ${req.clientIp} refused` });
    if (!allows) {
      out.reply = { status: 403, flag: '-', reason: `the IP filter refuses ${req.clientIp}`, body: RBAC_DENIED_BODY };
      return true;
    }
  }
  if (route.jwt) {
    const provider = vhost.jwt?.providers.find((p) => p.name === route.jwt!.provider);
    const plain = route.httpsRedirect === true && !https;
    const hasToken = headers.has('authorization');
    out.filters.push({
      name: 'jwt_authn',
      config: `requires a JWT from provider ${route.jwt.provider}${provider ? ` (issuer ${provider.issuer || 'any'}${provider.audiences.length ? `, audiences ${provider.audiences.join(', ')}` : ''})` : ''}`,
      verdict: plain ? 'not checked: the plain-HTTP request is redirected to https first' : hasToken ? 'the token is verified when the request arrives' : 'no Authorization header: answered 401 "Jwt is missing"',
    });
    if (!plain && !hasToken) {
      out.reply = { status: 401, flag: '-', reason: `the route requires a JWT (provider ${route.jwt.provider}) and the request carries none`, body: 'Jwt is missing' };
      return true;
    }
  }
  // External authorization, once the config carries it.
  const authz = (vhost as VirtualHost & { authorization?: { extensionCluster: string; failOpen: boolean } }).authorization;
  const routeAuthz = (route as Route & { authorization?: { disabled: boolean } }).authorization;
  if (authz) {
    out.filters.push({
      name: 'ext_authz',
      config: `server ${authz.extensionCluster}${authz.failOpen ? ', fails open' : ', fails closed'}`,
      verdict: routeAuthz?.disabled ? 'disabled on this route' : 'the server decides when the request arrives',
    });
  }
  return false;
}

function clusterChoices(list: { cluster: string; weight: number }[], config: ProxyConfig, cumulativeTotal?: number): ClusterChoice[] {
  // From compiled backends the weights are cumulative upper bounds (upTo).
  let prev = 0;
  const weights = list.map((c) => {
    if (cumulativeTotal === undefined) return Math.max(0, c.weight);
    const w = c.weight - prev;
    prev = c.weight;
    return w;
  });
  const anyWeight = weights.some((w) => w > 0);
  const total = cumulativeTotal ?? (anyWeight ? weights.reduce((a, w) => a + w, 0) : list.length);
  const byName = new Map(config.clusters.map((c) => [c.name, c]));
  return list
    .map((c, i) => ({ c, share: total > 0 ? ((anyWeight ? weights[i]! : 1) / total) * 100 : 0, def: byName.get(c.cluster) }))
    .filter(({ share }) => share > 0)
    .map(({ c, share, def }) => clusterChoice(c.cluster, Math.round(share * 10) / 10, def));
}

function clusterChoice(name: string, share: number, c: Cluster | undefined): ClusterChoice {
  if (!c) return { cluster: name, service: '(not in the config)', share, protocol: '?', endpoints: [], loadBalancer: '?' };
  const t = c.tls;
  return {
    cluster: name,
    service: `${c.namespace}/${c.service}:${c.servicePort}`,
    share,
    protocol: { http1: 'HTTP/1.1', tls: 'HTTP/1.1 over TLS', h2: 'HTTP/2 over TLS', h2c: 'HTTP/2 cleartext (h2c)' }[c.protocol],
    ...(t
      ? {
          tls: {
            ...(t.sni ? { sni: t.sni } : {}),
            ...(t.validation ? { validation: { caBundle: t.validation.caBundleId, subjectNames: t.validation.subjectNames } } : {}),
            ...(t.clientCertificateId ? { clientCertificate: t.clientCertificateId } : {}),
            versions: `${t.minVersion}–${t.maxVersion}`,
          },
        }
      : {}),
    endpoints: c.endpoints.map((e) => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`)),
    loadBalancer: c.slowStart ? `${c.loadBalancer.strategy}, slow start over ${c.slowStart.windowMs / 1000}s` : c.loadBalancer.strategy,
    ...(c.healthCheck || c.tcpHealthCheck ? { healthCheck: healthCheckText(c) } : {}),
  };
}

/** "HTTP /healthz every 10s" or "TCP connect every 10s", with the health port when there is one. */
function healthCheckText(c: Cluster): string {
  const what = c.healthCheck ? `HTTP ${c.healthCheck.path} every ${c.healthCheck.intervalMs / 1000}s` : `TCP connect every ${c.tcpHealthCheck!.intervalMs / 1000}s`;
  const port = c.endpoints.find((e) => e.healthPort !== undefined)?.healthPort;
  return port === undefined ? what : `${what} on port ${port}`;
}

function local(code: FailureCode, reason: string): NonNullable<Explanation['reply']> {
  const f = FAILURES[code];
  return { status: f.status ?? 0, flag: f.flag, reason, ...(f.body ? { body: f.body } : {}) };
}

function actionText(r: Route): string {
  const a = r.action;
  if (r.httpsRedirect) return '301 to https on this listener (the virtual host has TLS)';
  if (a.kind === 'redirect') return `redirect ${a.statusCode}`;
  if (a.kind === 'direct') return `direct response ${a.statusCode}`;
  return `forward to ${a.clusters.length} cluster${a.clusters.length === 1 ? '' : 's'}`;
}

function routeSettings(r: Route): string[] {
  const s: string[] = [];
  const t = r.timeouts;
  s.push(`response timeout ${t.responseMs === null ? 'none' : `${t.responseMs} ms`}${t.idleMs !== null ? `, idle timeout ${t.idleMs} ms` : ''}`);
  if (r.retry) s.push(`retry ${r.retry.count}× on ${r.retry.retryOn.join(', ')}${r.retry.perTryTimeoutMs !== null ? `, ${r.retry.perTryTimeoutMs} ms per try` : ''}`);
  if (r.prefixRewrite !== undefined) s.push(`prefix rewritten to ${JSON.stringify(r.prefixRewrite)}`);
  if (r.hostRewrite) s.push(`Host rewritten to ${r.hostRewrite.literal ?? `the ${r.hostRewrite.fromHeader} header`}`);
  if (r.requestHeaders.set.length + r.requestHeaders.remove.length > 0) s.push(`request headers: ${[...r.requestHeaders.set.map((h) => `set ${h.name}`), ...r.requestHeaders.remove.map((h) => `remove ${h}`)].join(', ')}`);
  if (r.responseHeaders.set.length + r.responseHeaders.remove.length > 0) s.push(`response headers: ${[...r.responseHeaders.set.map((h) => `set ${h.name}`), ...r.responseHeaders.remove.map((h) => `remove ${h}`)].join(', ')}`);
  if (r.websocket) s.push('WebSocket upgrades allowed');
  return s;
}

function origin(r: Route): string {
  return `${r.origin.kind ? `${r.origin.kind} ` : ''}${r.origin.namespace}/${r.origin.name}`;
}

function rootsOf(input: ExplainInput, fqdn: string): string[] {
  return input.httpproxies.filter((p) => p.fqdn.toLowerCase() === fqdn).map((p) => `${p.namespace}/${p.name}`);
}

/** Contour answers 503 on a route whose services it could not use. */
function directReason(input: ExplainInput, r: Route): string {
  const p = r.origin.kind ? undefined : input.httpproxies.find((x) => x.namespace === r.origin.namespace && x.name === r.origin.name);
  if (p && p.currentStatus !== 'valid' && r.action.kind === 'direct' && r.action.statusCode === 503) return `HTTPProxy ${origin(r)} is ${p.currentStatus}: ${p.description}`;
  return 'the route answers directly (directResponsePolicy)';
}

/** Why a host has no virtual host here: an HTTPProxy claims it but is not
 *  valid, or it is served on the other listener only. */
function noteHost(input: ExplainInput, host: string, out: Explanation, listener?: 'http' | 'https'): void {
  noteInvalid(input, host, out);
  const c = input.proxyConfig;
  const plain = c.httpVirtualHosts.some((v) => v.fqdn === host);
  const secure = c.httpsVirtualHosts.some((v) => v.fqdn === host);
  if (listener === 'http' && !plain && secure) out.notes.push(`${host} is served on the HTTPS listener only (a TCPProxy or passthrough virtual host has no plain-HTTP side)`);
  if (listener === 'https' && plain && !secure) out.notes.push(`${host} has no TLS: it is served on the plain HTTP listener only`);
  if (!plain && !secure && !out.notes.length) out.notes.push(`no valid HTTPProxy has fqdn ${host}`);
}

function noteInvalid(input: ExplainInput, fqdn: string, out: Explanation): void {
  for (const p of input.httpproxies) {
    if (p.fqdn.toLowerCase() === fqdn && p.currentStatus !== 'valid') out.notes.push(`HTTPProxy ${p.namespace}/${p.name} has fqdn ${fqdn} but is ${p.currentStatus}: ${p.description}`);
  }
}

function finish(out: Explanation, warnings: string[]): Explanation {
  const host = out.virtualHost?.fqdn;
  for (const w of warnings) if (host !== undefined && w.startsWith(`${host}: `)) out.notes.push(`not served by the proxy: ${w}`);
  return out;
}
