// The HTTPProxy processor: Contour's internal/dag/httpproxy_processor.go
// rule by rule (see contour-semantics.md), plus isobar's deliberate
// differences (validation needs a TLS protocol, SNI from the subject name,
// upstream-tls.require-validation).
import type { IsobarConfig } from '../config/index.ts';
import type {
  Cluster,
  HeaderOps,
  Route,
  RouteAction,
  SlowStart,
  TcpForward,
  TlsSecret,
  UpstreamProtocol,
  UpstreamTls,
  WeightedCluster,
} from './proxy-config.ts';
import type { NCond, NLoadBalancerPolicy, NProxy, NRoute, NService, NValidation } from './model.ts';
import type { CacheView, Lookup, ResolvedService } from './cache-view.ts';

/** A Service port and, for a healthPort, the Service port health checks probe. */
type ServiceLookupWithHealth = { ok: true; value: ResolvedService; health?: ResolvedService } | { ok: false; error: string };
import type { ClusterShape, Output } from './output.ts';
import { Condition, type ServiceContext } from './status.ts';
import { isBlank, processVirtualHostTls, tlsVersion } from './vhost-tls.ts';
import { pkey, splitRef } from './refs.ts';
import { expandPrefixMatches } from './prefix-rewrite.ts';
import { reportIgnoredFields, reportUnenforcedFields } from './ignored-fields.ts';
import {
  headerConditionsError,
  includeConditionsError,
  includeConditionsKey,
  mergeHeaders,
  mergePath,
  mergeQuery,
  pathConditionsError,
  queryConditionsError,
} from './conditions.ts';
import { parseTimeout, timeoutMs } from './duration.ts';
import { vhostCorsPolicy } from './cors.ts';
import { cookieRewritePolicies, mergeCookieRewrites } from './cookie-rewrite.ts';
import { internalRedirectPolicy } from './internal-redirect.ts';
import { routeIpFilter, tcpProxyIpFilterError, vhostIpFilter } from './ip-filter.ts';
import { routeLocalRateLimit, vhostLocalRateLimit } from './local-rate-limit.ts';
import { rateLimitService, routeGlobalRateLimit, vhostGlobalRateLimit, type NGlobalRateLimit } from './global-rate-limit.ts';
import { readGlobalRateLimit } from './read.ts';
import type { RateLimitServiceConfig } from './global-rate-limit-config.ts';
import { globalAuthorization, hasExtensionRef, routeAuthorization, virtualHostAuthorization, type ExtensionLookup, type NAuthorization } from './authorization.ts';
import {
  addServiceCluster,
  DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
  streamIdleMs,
  globalClientCert,
  serviceClientCert,
  type ClusterRequest,
  type GlobalClientCert,
} from './service-cluster.ts';
import { SLOW_START_STRATEGY_ERROR, slowStartConfig } from './slow-start.ts';
import {
  addJwtNeedsTlsError,
  checkRouteProviders,
  jwtProvidersNeedTls,
  jwtTcpProxyError,
  readJwtProviders,
  routeJwtProvider,
  vhostJwtConfig,
  type JwtEnv,
} from './jwt.ts';
import {
  headersPolicyRoute,
  headerDefaults,
  headersPolicyService,
  httpHealthCheck,
  loadBalancer,
  retryPolicy,
  strategyOf,
  tcpHealthCheck,
  type Dynamic,
  type HeadersPolicyDefaults,
} from './policy.ts';

const NO_VARIABLES: Dynamic = {};
const NO_TIMEOUT_POLICY = { response: '', idle: '', idleConnection: '' };
import { DEFAULT_RESPONSE_TIMEOUT_MS } from './proxy-config.ts';
// Shared, like every default in the ProxyConfig: it is read-only data.
/** A route whose services all failed to resolve answers 503 (Contour). */
const NO_CLUSTER: RouteAction = { kind: 'direct', statusCode: 503 };

/** The user-facing phrase for a CA secret that cannot be used. */
const VALIDATION_SECRET_PROBLEM = 'upstreamValidation requested but secret not found or misconfigured';

export interface StatusSink {
  /** The condition accumulator of a proxy (created on first use). */
  cond(p: NProxy): Condition;
  setFqdn(p: NProxy, fqdn: string): void;
}

function emptyOps(): HeaderOps {
  return { set: [], remove: [] };
}

/** A Host value usable as SNI: set and not a %REQ()% reference. */
function literalHost(h: string): string {
  return h !== '' && dynamicHost(h) === null ? h : '';
}

function dynamicHost(v: string): string | null {
  const m = /^%REQ\(([^)]+)\)%$/.exec(v);
  return m ? m[1]! : null;
}

interface ClientCert {
  id: string;
}


export class HTTPProxyProcessor {
  readonly #view: CacheView;
  readonly #config: IsobarConfig;
  /** Routes' timeouts when they set none (one object, shared). */
  readonly #defaultTimeouts: { responseMs: number | null; idleMs: number | null };
  readonly #proxies: Lookup<NProxy>;
  readonly #rejected: Lookup<unknown>;
  // Set by use() before each root.
  #out!: Output;
  #status!: StatusSink;
  /** Proxies an include has reached: every other non-root is orphaned. */
  readonly reached = new Set<NProxy>();
  readonly #reqDefaults: HeadersPolicyDefaults | null;
  readonly #respDefaults: HeadersPolicyDefaults | null;
  /** The Envoy client certificate (rules 23-26): undefined when not configured. */
  readonly #clientCert: GlobalClientCert;
  readonly #jwtEnv: JwtEnv;
  /** The current root's default JWT provider, for the routes it reaches. */
  #defaultJwtProvider = '';
  /** globalExtAuth, and the ExtensionServices authorization may name. */
  readonly #globalAuth: NAuthorization | null;
  readonly #extensions: ExtensionLookup;
  /** The current root's virtual host authorization, for the routes it reaches. */
  #rootAuth: NAuthorization | null = null;
  /** The config file's rate limit service (looked up when a policy needs
   *  it, so the root depends on its ExtensionService) and default policy. */
  readonly #rateLimitService: () => RateLimitServiceConfig | undefined;
  readonly #defaultGlobalRateLimit: NGlobalRateLimit | null;

  constructor(
    view: CacheView,
    config: IsobarConfig,
    proxies: Lookup<NProxy>,
    rejected: Lookup<unknown>,
    extensions: ExtensionLookup = () => undefined,
  ) {
    this.#view = view;
    this.#extensions = extensions;
    this.#globalAuth = globalAuthorization(config.globalExtAuth);
    this.#config = config;
    this.#defaultTimeouts = { responseMs: DEFAULT_RESPONSE_TIMEOUT_MS, idleMs: streamIdleMs(config) };
    this.#proxies = proxies;
    this.#rejected = rejected;
    this.#reqDefaults = headerDefaults(config.policy?.requestHeaders);
    this.#respDefaults = headerDefaults(config.policy?.responseHeaders);
    // A provider's own dnsLookupFamily, else cluster.dns-lookup-family (Contour's).
    this.#jwtEnv = { secrets: view, upstreamTls: config.upstreamTls, dnsLookupFamily: config.cluster?.dnsLookupFamily ?? 'auto' };
    this.#clientCert = globalClientCert(view, config);
    this.#rateLimitService = () => rateLimitService(config, extensions);
    this.#defaultGlobalRateLimit = readGlobalRateLimit(config.rateLimitService?.defaultGlobalRateLimitPolicy);
  }

  /** Sends what the next computeHTTPProxy produces to `out` and `status`
   *  (the builder computes each root on its own). */
  use(out: Output, status: StatusSink): void {
    this.#out = out;
    this.#status = status;
    this.reached.clear();
  }

  #rootAllowed(ns: string): boolean {
    const roots = this.#config.rootNamespaces ?? [];
    return roots.length === 0 || roots.includes(ns);
  }

  /** computeHTTPProxy: one root HTTPProxy. */
  computeHTTPProxy(proxy: NProxy): void {
    const cond = this.#status.cond(proxy);
    const vh = proxy.virtualhost;
    if (!vh) return; // not a root: only an include reaches it
    const host = vh.fqdn;
    if (isBlank(host)) {
      cond.addError('VirtualHostError', 'FQDNNotSpecified', 'Spec.VirtualHost.Fqdn must be specified');
      return;
    }
    this.#status.setFqdn(proxy, host);
    if (!this.#rootAllowed(proxy.namespace)) {
      cond.addError('RootNamespaceError', 'RootProxyNotAllowedInNamespace', 'root HTTPProxy cannot be defined in this namespace');
      return;
    }
    if (proxy.routes.length === 0 && proxy.includes.length === 0 && !proxy.tcpproxy) {
      cond.addError('SpecError', 'NothingDefined', 'HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy');
      return;
    }
    const tls = vh.tls;
    if (jwtProvidersNeedTls(vh)) {
      addJwtNeedsTlsError(cond);
      return;
    }
    if (!tls && hasExtensionRef(vh.authorization)) {
      cond.addError(
        'AuthError',
        'AuthNotPermitted',
        'Spec.VirtualHost.Authorization.ExtensionServiceRef can only be defined for root HTTPProxies that terminate TLS',
      );
      return;
    }
    if (vh.ipAllowPolicy.length > 0 && vh.ipDenyPolicy.length > 0) {
      cond.addError(
        'IPFilterError',
        'IncompatibleIPAddressFilters',
        'Spec.VirtualHost.IPAllowFilterPolicy and Spec.VirtualHost.IPDepnyFilterPolicy cannot both be defined.',
      );
      return;
    }

    const tlsResult = processVirtualHostTls({ view: this.#view, config: this.#config, out: this.#out }, cond, proxy, vh);
    if (!tlsResult) return;
    const { tlsEnabled } = tlsResult;
    let secure = tlsResult.secure;
    const authz = virtualHostAuthorization(cond, vh, proxy.tcpproxy !== null, tlsEnabled, proxy.namespace, this.#globalAuth, this.#extensions);
    if (!authz) return;
    const jwt = readJwtProviders(this.#jwtEnv, cond, proxy.namespace, vh.jwtProviders);
    if (!jwt) return;
    reportIgnoredFields(cond, 'Spec.VirtualHost.', vh.unsupported);
    if (reportUnenforcedFields(cond, 'Spec.VirtualHost.', vh.unenforced)) return;
    const rateLimit = vhostLocalRateLimit(cond, vh, proxy.tcpproxy !== null);
    if (rateLimit === null) return;
    // A TCPProxy virtual host has no HTTP requests to describe (its own
    // policy was refused above); the default policy does not apply to it.
    const globalRateLimit = proxy.tcpproxy ? undefined : vhostGlobalRateLimit(cond, vh, this.#rateLimitService, this.#defaultGlobalRateLimit);
    if (globalRateLimit === null) return;

    if (proxy.tcpproxy) {
      if (tcpProxyIpFilterError(cond, vh)) return;
      if (jwtTcpProxyError(cond, jwt)) return;
      if (!tlsEnabled) {
        cond.addError('TCPProxyError', 'TLSMustBeConfigured', 'Spec.TCPProxy requires that either Spec.TLS.Passthrough or Spec.TLS.SecretName be set');
        return;
      }
      const fwd = this.#processTCPProxy(cond, proxy, []);
      if (!fwd) return;
      secure ??= this.#out.ensureHttps(host);
      if (tls!.passthrough) secure.passthrough = fwd;
      else secure.tcpProxy = fwd;
    }

    this.#defaultJwtProvider = jwt.defaultProvider;
    this.#rootAuth = vh.authorization;
    const routes = this.#computeRoutes(cond, proxy, [], [], tlsEnabled);
    const cors = vhostCorsPolicy(cond, vh.corsPolicy);
    if (cors === null) return;
    const ipFilter = vhostIpFilter(cond, vh);
    if (ipFilter === null) return;
    if (!checkRouteProviders(cond, jwt.providers, routes)) return;
    const jwtConfig = vhostJwtConfig(jwt, (b) => this.#out.addCaBundle(b));
    const insecure = this.#out.ensureHttp(host);
    if (cors) insecure.cors = cors;
    if (ipFilter) insecure.ipFilter = ipFilter;
    if (rateLimit) insecure.localRateLimit = rateLimit;
    if (globalRateLimit) insecure.globalRateLimit = globalRateLimit;
    // Verified on both listeners: a permitInsecure route is not served unverified over plain HTTP.
    if (jwtConfig) insecure.jwt = jwtConfig;
    if (authz.insecure) insecure.authorization = authz.insecure;
    for (const r of routes) this.#out.addRoute(insecure, r);
    if (tlsEnabled && !proxy.tcpproxy) {
      secure ??= this.#out.ensureHttps(host);
      if (cors) secure.cors = cors;
      if (ipFilter) secure.ipFilter = ipFilter;
      if (rateLimit) secure.localRateLimit = rateLimit;
      if (globalRateLimit) secure.globalRateLimit = globalRateLimit;
      if (jwtConfig) secure.jwt = jwtConfig;
      if (authz.secure) secure.authorization = authz.secure;
      for (const r of routes) {
        if (r.httpsRedirect) {
          const { httpsRedirect: _, ...rest } = r;
          this.#out.addRoute(secure, rest);
        } else this.#out.addRoute(secure, r);
      }
    }
  }

  /** addStatusBadGatewayRoute */
  #badGatewayRoute(routes: Route[], conds: NCond[], proxy: NProxy): void {
    if (conds.length === 0) return;
    routes.push({
      path: mergePath(conds),
      headers: mergeHeaders(conds),
      queryParams: mergeQuery(conds),
      action: { kind: 'direct', statusCode: 502 },
      requestHeaders: emptyOps(),
      responseHeaders: emptyOps(),
      websocket: false,
      timeouts: this.#defaultTimeouts,
      origin: { namespace: proxy.namespace, name: proxy.name },
    });
  }

  #computeRoutes(
    cond: Condition,
    proxy: NProxy,
    conditions: NCond[],
    visited: NProxy[],
    enforceTLS: boolean,
  ): Route[] {
    for (const v of visited) {
      if (v.name === proxy.name && v.namespace === proxy.namespace) {
        const path = [...visited, proxy].map((p) => pkey(p.namespace, p.name));
        cond.addError('IncludeError', 'IncludeCreatesCycle', `include creates an include cycle: ${path.join(' -> ')}`);
        return [];
      }
    }
    // The path to here, for the cycle check of children (only they need it).
    if (proxy.includes.length > 0) visited = [...visited, proxy];
    const routes: Route[] = [];

    let seenConds: Set<string> | null = null;
    for (const inc of proxy.includes) {
      const namespace = inc.namespace === '' ? proxy.namespace : inc.namespace;
      let err = includeConditionsError(inc.conditions) ?? pathConditionsError(inc.conditions);
      if (err) {
        cond.addError('IncludeError', 'PathMatchConditionsNotValid', `include: ${err}`);
        continue;
      }
      err = headerConditionsError(inc.conditions);
      if (err) {
        cond.addError('RouteError', 'HeaderMatchConditionsNotValid', err);
        continue;
      }
      err = queryConditionsError(inc.conditions);
      if (err) {
        cond.addError('RouteError', 'QueryParameterMatchConditionsNotValid', err);
        continue;
      }
      const ck = includeConditionsKey(inc.conditions);
      if (ck !== null) {
        seenConds ??= new Set();
        if (seenConds.has(ck)) {
          cond.addError('IncludeError', 'DuplicateMatchConditions', 'duplicate conditions defined on an include');
          continue;
        }
        seenConds.add(ck);
      }
      const target = this.#proxies.get(namespace, inc.name);
      if (!target) {
        if (this.#rejected.get(namespace, inc.name) !== undefined) {
          // A child the schema rejected keeps its own status and
          // contributes no routes, like an invalid child.
          continue;
        }
        cond.addError('IncludeError', 'IncludeNotFound', `include ${namespace}/${inc.name} not found`);
        this.#badGatewayRoute(routes, inc.conditions, proxy);
        continue;
      }
      if (target.virtualhost) {
        cond.addError('IncludeError', 'RootIncludesRoot', `root httpproxy cannot include another root httpproxy (${target.namespace}/${target.name})`);
        this.#badGatewayRoute(routes, inc.conditions, proxy);
        continue;
      }
      const incCond = this.#status.cond(target);
      routes.push(...this.#computeRoutes(incCond, target, [...conditions, ...inc.conditions], visited, enforceTLS));
      this.reached.add(target);
    }

    for (const route of proxy.routes) {
      const r = this.#computeRoute(cond, proxy, route, conditions, enforceTLS);
      // Fatal: every route of this proxy, included ones too, is dropped.
      if (r === null) return [];
      routes.push(r);
    }
    return expandPrefixMatches(routes);
  }

  /** One route of `proxy`; null when a fatal error was recorded. */
  #computeRoute(cond: Condition, proxy: NProxy, route: NRoute, conditions: NCond[], enforceTLS: boolean): Route | null {
    const actions = (route.services.length > 0 ? 1 : 0) + (route.requestRedirectPolicy ? 1 : 0) + (route.directResponsePolicy ? 1 : 0);
    if (actions !== 1) {
      cond.addError(
        'RouteError',
        'RouteActionCountNotValid',
        'must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy',
      );
      return null;
    }
    let err = pathConditionsError(route.conditions);
    if (err) {
      cond.addError('RouteError', 'PathMatchConditionsNotValid', `route: ${err}`);
      return null;
    }
    const routeConds = conditions.length === 0 ? route.conditions : [...conditions, ...route.conditions];
    err = headerConditionsError(routeConds);
    if (err) {
      cond.addError('RouteError', 'HeaderMatchConditionsNotValid', err);
      return null;
    }
    err = queryConditionsError(routeConds);
    if (err) {
      cond.addError('RouteError', 'QueryParameterMatchConditionsNotValid', err);
      return null;
    }
    // Variables are only read when a header policy sets something.
    const dynamic: Dynamic = route.requestHeadersPolicy || route.responseHeadersPolicy ? { CONTOUR_NAMESPACE: proxy.namespace } : NO_VARIABLES;
    const reqHP = headersPolicyRoute(route.requestHeadersPolicy, true, dynamic);
    if (!reqHP.ok) {
      cond.addError('RouteError', 'RequestHeadersPolicyInvalid', `${reqHP.error} on request headers`);
      return null;
    }
    const respHP = headersPolicyRoute(route.responseHeadersPolicy, false, dynamic);
    if (!respHP.ok) {
      cond.addError('RouteError', 'ResponseHeaderPolicyInvalid', `${respHP.error} on response headers`);
      return null;
    }
    const routeCookies = cookieRewritePolicies(route.cookieRewritePolicies);
    if (!routeCookies.ok) {
      cond.addError('RouteError', 'CookieRewritePoliciesInvalid', `${routeCookies.error} on route cookie rewrite rules`);
      return null;
    }
    const tp = route.timeoutPolicy ?? NO_TIMEOUT_POLICY;
    const response = parseTimeout(tp.response);
    const idle = parseTimeout(tp.idle);
    const idleConn = parseTimeout(tp.idleConnection);
    const tErr = !response.ok
      ? `error parsing response timeout: ${response.error}`
      : !idle.ok
        ? `error parsing idle timeout: ${idle.error}`
        : !idleConn.ok
          ? `error parsing idle connection timeout: ${idleConn.error}`
          : null;
    if (tErr || !response.ok || !idle.ok || !idleConn.ok) {
      cond.addError('RouteError', 'TimeoutPolicyNotValid', `route.timeoutPolicy failed to parse: ${tErr}`);
      return null;
    }
    const lb = loadBalancer(route.loadBalancerPolicy, cond);
    const redirect = route.requestRedirectPolicy;
    if (redirect && redirect.path !== null && redirect.prefix !== null) {
      cond.addError('RouteError', 'RequestRedirectPolicy', 'route.requestRedirectPolicy is invalid: cannot specify both redirect path and redirect prefix');
      return null;
    }

    const path = mergePath(routeConds);
    const pathLabel = path.value;
    reportIgnoredFields(cond, `route "${pathLabel}": `, route.unsupported);
    if (reportUnenforcedFields(cond, `route "${pathLabel}": `, route.unenforced)) return null;
    const rateLimit = routeLocalRateLimit(cond, pathLabel, route.rateLimitPolicy);
    if (rateLimit === null) return null;
    const globalRateLimit = routeGlobalRateLimit(cond, route.rateLimitPolicy, this.#rateLimitService);
    if (globalRateLimit === null) return null;
    const r: Route = {
      path,
      headers: mergeHeaders(routeConds),
      queryParams: mergeQuery(routeConds),
      action: NO_CLUSTER, // replaced below
      requestHeaders: reqHP.value.ops,
      responseHeaders: respHP.value.ops,
      websocket: route.enableWebsockets,
      timeouts:
        response.timeout.kind === 'default' && idle.timeout.kind === 'default'
          ? this.#defaultTimeouts
          : {
              responseMs: timeoutMs(response.timeout, DEFAULT_RESPONSE_TIMEOUT_MS),
              idleMs: timeoutMs(idle.timeout, this.#defaultTimeouts.idleMs),
            },
      origin: { namespace: proxy.namespace, name: proxy.name },
    };
    if (enforceTLS && !(route.permitInsecure && !this.#config.disablePermitInsecure)) r.httpsRedirect = true;
    const rp = retryPolicy(route.retryPolicy);
    if (rp) r.retry = rp;
    const irp = internalRedirectPolicy(route.internalRedirectPolicy);
    if (irp) r.internalRedirect = irp;
    if (reqHP.value.hostRewrite !== '') {
      const from = dynamicHost(reqHP.value.hostRewrite);
      r.hostRewrite = from !== null ? { fromHeader: from } : { literal: reqHP.value.hostRewrite };
    }

    const replacePrefix = route.pathRewritePolicy?.replacePrefix ?? [];
    if (replacePrefix.length > 0) {
      if (path.kind !== 'prefix') {
        cond.addError('PrefixReplaceError', 'MustHavePrefix', 'cannot specify prefix replacements without a prefix condition');
        return null;
      }
      const seen = new Set<string>();
      for (const rep of replacePrefix) {
        if (seen.has(rep.prefix)) {
          if (rep.prefix !== '') cond.addError('PrefixReplaceError', 'DuplicateReplacement', `duplicate replacement prefix '${rep.prefix}'`);
          else cond.addError('PrefixReplaceError', 'AmbiguousReplacement', 'ambiguous prefix replacement');
          return null;
        }
        seen.add(rep.prefix);
      }
      const exact = replacePrefix.find((x) => x.prefix !== '' && x.prefix === path.value);
      const dflt = replacePrefix.find((x) => x.prefix === '');
      const chosen = exact ?? dflt;
      if (chosen) r.prefixRewrite = chosen.replacement;
    }

    const hc = httpHealthCheck(route.healthCheckPolicy);
    if (!hc.ok) {
      cond.addError('RouteError', 'HealthCheckPolicyInvalid', hc.error);
      return null;
    }

    const clusters: WeightedCluster[] = [];
    let mirror: { cluster: string; percent: number } | undefined;
    const idleConnMs = timeoutMs(idleConn.timeout, DEFAULT_IDLE_CONNECTION_TIMEOUT_MS);
    for (const service of route.services) {
      const ctx: ServiceContext = { route: pathLabel, service: service.name };
      reportIgnoredFields(cond, `route "${pathLabel}": service "${service.name}": `, service.unsupported);
      if (reportUnenforcedFields(cond, `route "${pathLabel}": service "${service.name}": `, service.unenforced)) return null;
      if (service.port < 1 || service.port > 65535) {
        cond.addServiceError(
          'ServiceError',
          'ServicePortInvalid',
          `service "${service.name}": port must be in the range 1-65535`,
          ctx,
          'port must be in the range 1-65535',
        );
        return null;
      }
      const found = this.#lookupWithHealthPort(proxy, service, hc.value !== undefined);
      if (!found.ok) {
        cond.addServiceError(
          'ServiceError',
          'ServiceUnresolvedReference',
          `Spec.Routes unresolved service reference: ${found.error}`,
          ctx,
          found.error,
        );
        continue;
      }
      const s = found.value;
      const healthService = found.health;
      const upstream = this.#upstream(cond, proxy, service, s, ctx);
      if (!upstream) return null;

      const dyn: Dynamic =
        service.requestHeadersPolicy || service.responseHeadersPolicy || this.#reqDefaults || this.#respDefaults
          ? { CONTOUR_NAMESPACE: proxy.namespace, CONTOUR_SERVICE_NAME: service.name, CONTOUR_SERVICE_PORT: String(service.port) }
          : NO_VARIABLES;
      const sReq = headersPolicyService(this.#reqDefaults, service.requestHeadersPolicy, true, dyn);
      if (!sReq.ok) {
        cond.addServiceError('ServiceError', 'RequestHeadersPolicyInvalid', `${sReq.error} on request headers`, ctx, `${sReq.error} on request headers`);
        return null;
      }
      const sResp = headersPolicyService(this.#respDefaults, service.responseHeadersPolicy, false, dyn);
      if (!sResp.ok) {
        cond.addServiceError('ServiceError', 'ResponseHeadersPolicyInvalid', `${sResp.error} on response headers`, ctx, `${sResp.error} on response headers`);
        return null;
      }
      const serviceCookies = cookieRewritePolicies(service.cookieRewritePolicies);
      if (!serviceCookies.ok) {
        // Contour files it as a RouteError, with the service's wording.
        const msg = `${serviceCookies.error} on service cookie rewrite rules`;
        cond.addServiceError('RouteError', 'CookieRewritePoliciesInvalid', msg, ctx, msg);
        return null;
      }
      const clientCert = this.#clientCertFor(cond, ctx, s);
      if (clientCert === null) return null;
      let slowStart: SlowStart | undefined;
      if (service.slowStartPolicy) {
        // Envoy ramps weights only in the round robin and least request balancers.
        if (lb.strategy !== 'RoundRobin' && lb.strategy !== 'WeightedLeastRequest') {
          cond.addServiceError('ServiceError', 'SlowStartInvalid', SLOW_START_STRATEGY_ERROR, ctx, SLOW_START_STRATEGY_ERROR);
          return null;
        }
        const ss = slowStartConfig(service.slowStartPolicy);
        if (!ss.ok) {
          cond.addServiceError('ServiceError', 'SlowStartInvalid', `${ss.error} on slow start`, ctx, `${ss.error} on slow start`);
          return null;
        }
        slowStart = ss.value;
      }

      const sni =
        literalHost(sReq.value.hostRewrite) ||
        literalHost(reqHP.value.hostRewrite) ||
        s.externalName ||
        (upstream.validation ? upstream.validation.subjectNames[0] ?? '' : '');
      const clusterName = this.#addCluster(s, upstream, sni, clientCert, lb, hc.value, idleConnMs, { slowStart, healthService, dnsLookupFamily: true });

      if (service.mirror && mirror) {
        cond.addServiceError('ServiceError', 'OnlyOneMirror', 'only one service per route may be nominated as mirror', ctx, 'only one service per route may be nominated as mirror');
        return null;
      }
      if (service.mirror) {
        mirror = { cluster: clusterName, percent: service.weight === 0 ? 100 : Math.min(100, Math.max(0, service.weight)) };
        continue;
      }
      const wc: WeightedCluster = {
        cluster: clusterName,
        weight: Math.max(0, service.weight),
        requestHeaders: sReq.value.ops,
        responseHeaders: sResp.value.ops,
      };
      const cookies = mergeCookieRewrites(routeCookies.value, serviceCookies.value);
      if (cookies.length > 0) wc.cookieRewrites = cookies;
      const svcHost = sReq.value.hostRewrite;
      if (svcHost !== '' && dynamicHost(svcHost) === null) {
        wc.hostRewrite = svcHost;
        // Also as a header set, so a runtime applying only header ops still
        // sends this service's Host.
        wc.requestHeaders = { set: [...wc.requestHeaders.set, { name: 'Host', value: svcHost }].sort((a, b) => (a.name < b.name ? -1 : 1)), remove: wc.requestHeaders.remove };
      }
      clusters.push(wc);
    }

    let action: RouteAction;
    if (redirect) {
      action = { kind: 'redirect', statusCode: redirect.statusCode || 302 };
      if (redirect.scheme !== '') action.scheme = redirect.scheme;
      if (redirect.hostname !== '') action.hostname = redirect.hostname;
      if (redirect.port !== 0) action.port = redirect.port;
      if (redirect.path !== null) action.path = redirect.path;
      if (redirect.prefix !== null) action.prefix = redirect.prefix;
    } else if (route.directResponsePolicy) {
      action = { kind: 'direct', statusCode: route.directResponsePolicy.statusCode };
      if (route.directResponsePolicy.body !== '') action.body = route.directResponsePolicy.body;
    } else if (clusters.length === 0) {
      action = NO_CLUSTER;
    } else {
      const weighted = normaliseWeights(clusters);
      action = { kind: 'forward', clusters: weighted };
      if (mirror) action.mirrors = [mirror];
    }
    r.action = action;
    const jwtProvider = routeJwtProvider(cond, route.jwtVerificationPolicy, this.#defaultJwtProvider);
    if (jwtProvider === null) return null;
    if (jwtProvider !== '') r.jwt = { provider: jwtProvider };
    const ipFilter = routeIpFilter(cond, route);
    if (ipFilter === null) return null;
    if (ipFilter) r.ipFilter = ipFilter;
    if (rateLimit) r.localRateLimit = rateLimit;
    if (globalRateLimit.policy) r.globalRateLimit = globalRateLimit.policy;
    if (globalRateLimit.ignoreVirtualHost) r.ignoreVirtualHostGlobalRateLimit = true;
    const authorization = routeAuthorization(this.#rootAuth, this.#globalAuth, route.authPolicy, action.kind);
    if (authorization) r.authorization = authorization;

    // Wildcard fqdns (rule 53): Contour adds an :authority regex because
    // Envoy's `*.` matches several labels; the proxy's host table matches
    // exactly one label for a `*.` virtual host, so no extra match is needed.
    return r;
  }

  /** The client certificate for a Service's TLS endpoints: its own
   *  (annotation), else the Envoy client certificate; undefined when none,
   *  null after recording the error when the chosen one is invalid. */
  #clientCertFor(cond: Condition, ctx: ServiceContext | null, s: ResolvedService): ClientCert | undefined | null {
    const r = serviceClientCert(this.#view, this.#config, this.#clientCert, this.#out, s);
    if (!r.ok) {
      cond.addServiceError('TLSError', 'SecretNotValid', r.error, ctx, r.error);
      return null;
    }
    return r.id === undefined ? undefined : { id: r.id };
  }

  /** Protocol and upstream validation for one service (rules 7, 11-17 and
   *  the isobar differences); null after recording a fatal error. */
  #upstream(
    cond: Condition,
    proxy: NProxy,
    service: NService,
    s: ResolvedService,
    ctx: ServiceContext | null,
  ): { protocol: UpstreamProtocol; validation: { caBundleId: string; subjectNames: string[] } | null } | null {
    let protocol = s.protocol;
    if (service.protocol !== null) {
      protocol = service.protocol;
      if (protocol !== 'h2c' && protocol !== 'h2' && protocol !== 'tls') {
        cond.addServiceError('ServiceError', 'UnsupportedProtocol', `unsupported protocol: ${protocol}`, ctx, `unsupported protocol: ${protocol}`);
        return null;
      }
    }
    const isTls = protocol === 'tls' || protocol === 'h2';
    const v = service.validation;
    let validation: { caBundleId: string; subjectNames: string[] } | null = null;
    if (v && !isTls) {
      const msg =
        `Service [${service.name}:${service.port}] upstream validation requires a TLS upstream, but the effective protocol is ` +
        `${protocol === '' ? 'plaintext HTTP/1.1' : `"${protocol}"`}: add the annotation projectcontour.io/upstream-protocol.tls: "${service.port}" ` +
        `to Service "${s.namespace}/${s.name}" or set protocol: tls on this service`;
      cond.addServiceError('ServiceError', 'UpstreamValidationRequiresTLS', msg, ctx, msg);
      return null;
    }
    if (v && isTls) {
      validation = this.#validation(cond, proxy, service, v, ctx);
      if (!validation) return null;
    }
    if (isTls && !v && this.#config.upstreamTls?.requireValidation) {
      const msg =
        `Service [${service.name}:${service.port}] uses upstream TLS without validation, which upstream-tls.require-validation forbids: ` +
        'add validation.caSecret and validation.subjectName to this service';
      cond.addServiceError('ServiceError', 'UpstreamValidationRequired', msg, ctx, msg);
      return null;
    }
    return { protocol: protocol === '' ? 'http1' : (protocol as UpstreamProtocol), validation };
  }

  /** LookupUpstreamValidation: delegation, then the CA secret, then subject names. */
  #validation(cond: Condition, proxy: NProxy, service: NService, v: NValidation, ctx: ServiceContext | null) {
    const ref = splitRef(v.caSecret, proxy.namespace);
    const id = pkey(ref.namespace, ref.name);
    if (!this.#view.delegationPermitted(ref.namespace, ref.name, proxy.namespace)) {
      cond.addServiceError(
        'TLSError',
        'CACertificateNotDelegated',
        `service.UpstreamValidation.CACertificate Secret "${id}" is not configured for certificate delegation`,
        ctx,
        `upstreamValidation caSecret "${id}" is not delegated to namespace "${proxy.namespace}" (add a TLSCertificateDelegation in namespace "${ref.namespace}")`,
      );
      return null;
    }
    const prefix = `Service [${service.name}:${service.port}] TLS upstream validation policy error: `;
    const ca = this.#view.caSecret(ref.namespace, ref.name);
    if (!ca.ok) {
      cond.addServiceError('ServiceError', 'TLSUpstreamValidation', `${prefix}invalid CA Secret "${id}": ${ca.error}`, ctx, VALIDATION_SECRET_PROBLEM);
      return null;
    }
    if (v.subjectName === '') {
      cond.addServiceError('ServiceError', 'TLSUpstreamValidation', `${prefix}missing subject alternative name`, ctx, 'upstreamValidation: missing subject alternative name');
      return null;
    }
    if (v.subjectNames.length > 0 && v.subjectNames[0] !== v.subjectName) {
      const e = `first entry of SubjectNames (${v.subjectNames[0]}) does not match SubjectName (${v.subjectName})`;
      cond.addServiceError('ServiceError', 'TLSUpstreamValidation', `${prefix}${e}`, ctx, `upstreamValidation: ${e}`);
      return null;
    }
    this.#out.addCaBundle({ id, caPem: ca.value });
    return { caBundleId: id, subjectNames: v.subjectNames.length > 0 ? [...v.subjectNames] : [v.subjectName] };
  }

  #addCluster(
    s: ResolvedService,
    upstream: { protocol: UpstreamProtocol; validation: { caBundleId: string; subjectNames: string[] } | null },
    sni: string,
    clientCert: ClientCert | undefined,
    lb: Cluster['loadBalancer'],
    healthCheck: Cluster['healthCheck'],
    idleConnMs: number | null,
    more: Pick<ClusterRequest, 'tcp' | 'slowStart' | 'healthService' | 'dnsLookupFamily'>,
  ): string {
    return addServiceCluster(this.#view, this.#config, this.#out, s, {
      protocol: upstream.protocol,
      validation: upstream.validation,
      sni,
      clientCertificateId: clientCert?.id,
      loadBalancer: lb,
      healthCheck,
      idleConnectionTimeoutMs: idleConnMs,
      ...more,
    });
  }

  /** EnsureService: the Service port, and with a health check and a
   *  healthPort other than the port, the Service port health checks probe
   *  (which must exist too: Contour looks it up the same way). */
  #lookupWithHealthPort(proxy: NProxy, service: NService, healthChecked: boolean): ServiceLookupWithHealth {
    const found = this.#view.lookupService(proxy.namespace, service.name, service.port, this.#config.enableExternalNameService);
    if (!found.ok || !healthChecked || service.healthPort <= 0 || service.healthPort === service.port) return found;
    const health = this.#view.lookupService(proxy.namespace, service.name, service.healthPort, this.#config.enableExternalNameService);
    if (!health.ok) return health;
    return { ok: true, value: found.value, health: health.value };
  }

  /** processHTTPProxyTCPProxy: follows spec.tcpproxy.include; null after a
   *  fatal error (recorded on the proxy where it happened). */
  #processTCPProxy(cond: Condition, proxy: NProxy, visited: NProxy[]): TcpForward | null {
    const tcp = proxy.tcpproxy;
    if (!tcp) return null;
    visited = [...visited, proxy];
    if (tcp.services.length > 0 && tcp.include) {
      cond.addError('TCPProxyError', 'NoServicesAndInclude', 'cannot specify services and include in the same httpproxy');
      return null;
    }
    let lbp: NLoadBalancerPolicy | null = tcp.loadBalancerPolicy;
    const strategy = strategyOf(lbp);
    if (strategy === 'Cookie' || strategy === 'RequestHash') {
      cond.addWarning(
        'TCPProxyError',
        'IgnoredField',
        `ignoring field "Spec.TCPProxy.LoadBalancerPolicy"; ${strategy} load balancer policy is not supported for TCPProxies`,
      );
      lbp = null;
    }
    if (tcp.services.length > 0) {
      const tcpHealth = tcpHealthCheck(tcp.healthCheckPolicy);
      const clusters: WeightedCluster[] = [];
      const lb = loadBalancer(lbp, cond);
      for (const service of tcp.services) {
        reportIgnoredFields(cond, `Spec.TCPProxy service "${service.name}": `, service.unsupported);
        if (reportUnenforcedFields(cond, `Spec.TCPProxy service "${service.name}": `, service.unenforced)) return null;
        const found = this.#lookupWithHealthPort(proxy, service, tcpHealth !== undefined);
        if (!found.ok) {
          cond.addError('TCPProxyError', 'ServiceUnresolvedReference', `Spec.TCPProxy unresolved service reference: ${found.error}`);
          return null;
        }
        const s = found.value;
        const upstream = this.#upstream(cond, proxy, service, s, null);
        if (!upstream) return null;
        const clientCert = this.#clientCertFor(cond, null, s);
        if (clientCert === null) return null;
        const sni = s.externalName || (upstream.validation ? upstream.validation.subjectNames[0] ?? '' : '');
        // Contour leaves a TCPProxy service's slowStartPolicy out of its
        // cluster; isobar applies it, with the same checks as on a route.
        let slowStart: SlowStart | undefined;
        if (service.slowStartPolicy) {
          if (lb.strategy !== 'RoundRobin' && lb.strategy !== 'WeightedLeastRequest') {
            cond.addError('ServiceError', 'SlowStartInvalid', SLOW_START_STRATEGY_ERROR);
            return null;
          }
          const ss = slowStartConfig(service.slowStartPolicy);
          if (!ss.ok) {
            cond.addError('ServiceError', 'SlowStartInvalid', `${ss.error} on slow start`);
            return null;
          }
          slowStart = ss.value;
        }
        const name = this.#addCluster(s, upstream, sni, clientCert, lb, undefined, DEFAULT_IDLE_CONNECTION_TIMEOUT_MS, {
          tcp: { healthCheck: tcpHealth },
          slowStart,
          healthService: found.health,
        });
        clusters.push({ cluster: name, weight: Math.max(0, service.weight), requestHeaders: emptyOps(), responseHeaders: emptyOps() });
      }
      const weighted = normaliseWeights(clusters);
      return { clusters: weighted };
    }
    if (!tcp.include) {
      cond.addError('TCPProxyError', 'NothingDefined', 'either services or inclusion must be specified');
      return null;
    }
    const ns = tcp.include.namespace === '' ? proxy.namespace : tcp.include.namespace;
    const k = pkey(ns, tcp.include.name);
    const dest = this.#proxies.get(ns, tcp.include.name);
    if (!dest) {
      if (this.#rejected.get(ns, tcp.include.name) !== undefined) return null;
      cond.addError('TCPProxyIncludeError', 'IncludeNotFound', `include ${k} not found`);
      return null;
    }
    if (dest.virtualhost) {
      cond.addError('TCPProxyIncludeError', 'RootIncludesRoot', `root httpproxy cannot include another root httpproxy (${k})`);
      return null;
    }
    this.reached.add(dest);
    for (const v of visited) {
      if (v.name === dest.name && v.namespace === dest.namespace) {
        const path = [...visited, dest].map((p) => pkey(p.namespace, p.name));
        cond.addError('TCPProxyIncludeError', 'IncludeCreatesCycle', `include creates a cycle: ${path.join(' -> ')}`);
        return null;
      }
    }
    return this.#processTCPProxy(this.#status.cond(dest), dest, visited);
  }
}

/** Rule 54: all weights zero (or omitted) split equally; otherwise
 *  zero-weight clusters get no traffic. Mutates the fresh list it is given. */
function normaliseWeights(clusters: WeightedCluster[]): WeightedCluster[] {
  let total = 0;
  for (const c of clusters) total += c.weight;
  if (total === 0) {
    for (const c of clusters) c.weight = 1;
    return clusters;
  }
  return clusters.filter((c) => c.weight > 0);
}
