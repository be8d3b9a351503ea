// The Ingress processor: Contour's internal/dag/ingress_processor.go, one
// Ingress at a time. It yields the Ingress's TLS hosts and its routes (with
// the listeners they belong on); which hosts are secure depends on every
// Ingress, so ingress-merge.ts assembles the virtual hosts. Where Contour
// logs and skips (an unresolved Service, a missing Secret), the skipped
// part is an error problem in the Ingress's status report.
import type { IsobarConfig } from '../config/index.ts';
import type { Cluster, Route, TlsSecret, TlsVersion, UpstreamProtocol } from './proxy-config.ts';
import type { CacheView, ResolvedService } from './cache-view.ts';
import type { IngressProblem } from '../status/index.ts';
import { Output } from './output.ts';
import { pkey, splitRef } from './refs.ts';
import { regexError } from './conditions.ts';
import { headerDefaults, headersPolicyService, type HeadersPolicyDefaults } from './policy.ts';
import { readIngressSettings, type IngressSettings } from './ingress-annotations.ts';
import {
  addServiceCluster,
  DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
  streamIdleMs,
  globalClientCert,
  serviceClientCert,
  type GlobalClientCert,
} from './service-cluster.ts';
import type { NIngress, NIngressBackend, NIngressPath } from './ingress-read.ts';

const ROUND_ROBIN: Cluster['loadBalancer'] = { strategy: 'RoundRobin', hashPolicies: [] };

/** A secure virtual host an Ingress's tls section asks for. */
export interface IngressTlsHost {
  host: string;
  secretId: string;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
}

/** One route of an Ingress, for host `host` ("*": any host). */
export interface IngressRoute {
  host: string;
  route: Route;
  /** On the plain listener too (force-ssl-redirect or allow-http). */
  http: boolean;
}

export interface IngressResult {
  tls: IngressTlsHost[];
  routes: IngressRoute[];
  clusters: Cluster[];
  secrets: TlsSecret[];
  problems: IngressProblem[];
}

/** What every Ingress of one build shares. */
export class IngressProcessor {
  readonly #view: CacheView;
  readonly #config: IsobarConfig;
  readonly #clientCert: GlobalClientCert;
  readonly #reqDefaults: HeadersPolicyDefaults | null;
  readonly #respDefaults: HeadersPolicyDefaults | null;

  constructor(view: CacheView, config: IsobarConfig) {
    this.#view = view;
    this.#config = config;
    this.#clientCert = globalClientCert(view, config);
    this.#reqDefaults = headerDefaults(config.policy?.requestHeaders);
    this.#respDefaults = headerDefaults(config.policy?.responseHeaders);
  }

  compute(ing: NIngress): IngressResult {
    const { settings, problems } = readIngressSettings(ing.annotations);
    const out = new Output();
    const tls = this.#tlsHosts(ing, settings, out, problems);
    const routes: IngressRoute[] = [];
    // Contour skips every rule when the configured client certificate is unusable.
    if (this.#clientCert && !this.#clientCert.ok) {
      const ref = this.#config.tls.envoyClientCertificate!;
      problems.push({ severity: 'error', message: `tls.envoy-client-certificate Secret "${ref.namespace}/${ref.name}" is invalid: ${this.#clientCert.error}; no rule is served` });
    } else {
      for (const rule of ing.rules) {
        for (const p of rule.paths) {
          const route = this.#route(ing, settings, p, out, problems);
          if (route) routes.push({ host: rule.host === '' ? '*' : rule.host, route, http: settings.tlsRequired || settings.httpAllowed });
        }
      }
    }
    if (!settings.tlsRequired && !settings.httpAllowed) {
      // No plain listener: a host is served only where some Ingress's tls names it.
      const secure = new Set(tls.map((t) => t.host));
      for (const h of [...new Set(routes.map((r) => r.host))].sort()) {
        if (secure.has(h)) continue;
        problems.push({
          severity: 'warning',
          field: 'kubernetes.io/ingress.allow-http',
          message:
            h === '*'
              ? 'is "false", and a rule without a host (or the default backend) is never served over TLS: those paths are not served'
              : `is "false" and this Ingress has no usable TLS for host "${h}": it is served only if another Ingress's tls names that host`,
        });
      }
    }
    const paths = new Set(ing.rules.flatMap((r) => r.paths.map((p) => p.path || '/')));
    for (const w of settings.websocketRoutes) {
      if (!paths.has(w)) problems.push({ severity: 'warning', field: 'projectcontour.io/websocket-routes', message: `"${w}" is not a path of this Ingress; it has no effect` });
    }
    const { clusters, secrets } = out.registered();
    return { tls, routes, clusters, secrets, problems };
  }

  /** computeSecureVirtualhosts, for one Ingress. */
  #tlsHosts(ing: NIngress, settings: IngressSettings, out: Output, problems: IngressProblem[]): IngressTlsHost[] {
    const hosts: IngressTlsHost[] = [];
    if (ing.tls.length === 0) return hosts;
    if (settings.maxVersion < settings.minVersion) {
      problems.push({
        severity: 'error',
        field: 'projectcontour.io/tls-maximum-protocol-version',
        message: `the maximum TLS version ${settings.maxVersion} is below the minimum ${settings.minVersion}; no TLS host of this Ingress is served`,
      });
      return hosts;
    }
    ing.tls.forEach((t, i) => {
      const field = `spec.tls[${i}].secretName`;
      if (t.secretName === '') {
        if (t.hosts.length > 0) problems.push({ severity: 'error', field, message: 'is not set, and isobar has no default certificate for Ingress hosts: these hosts are served over plain HTTP only' });
        return;
      }
      const ref = splitRef(t.secretName, settings.tlsCertNamespace || ing.namespace);
      const id = pkey(ref.namespace, ref.name);
      if (!this.#view.delegationPermitted(ref.namespace, ref.name, ing.namespace)) {
        problems.push({
          severity: 'error',
          field,
          message: `Secret "${id}" is not delegated to namespace "${ing.namespace}" (add a TLSCertificateDelegation in namespace "${ref.namespace}"): its hosts are served over plain HTTP only`,
        });
        return;
      }
      const sec = this.#view.tlsSecret(ref.namespace, ref.name);
      if (!sec.ok) {
        problems.push({ severity: 'error', field, message: `Secret "${id}": ${sec.error}: its hosts are served over plain HTTP only` });
        return;
      }
      out.addSecret({ id, ...sec.value });
      for (const host of t.hosts) hosts.push({ host: host.toLowerCase(), secretId: id, minVersion: settings.minVersion, maxVersion: settings.maxVersion });
    });
    return hosts;
  }

  /** The route of one path; null after recording why it is not served. */
  #route(ing: NIngress, settings: IngressSettings, p: NIngressPath, out: Output, problems: IngressProblem[]): Route | null {
    const field = p.field;
    const backend = this.#backend(ing, p.backend, `${field}.backend`, out, problems);
    if (!backend) return null;
    const path = p.path === '' ? '/' : p.path;
    let match: Route['path'];
    switch (p.pathType) {
      case 'Prefix': {
        // "/" is every path; otherwise whole segments, trailing slashes ignored.
        const trimmed = path.replace(/\/+$/, '');
        match = path === '/' || trimmed === '' ? { kind: 'prefix', value: '/' } : { kind: 'prefix', value: trimmed, segment: true };
        break;
      }
      case 'Exact':
        match = { kind: 'exact', value: path };
        break;
      default:
        // ImplementationSpecific: a path that looks like a regex is one, else a string prefix.
        if (/[\^+*[\]%]/.test(path)) {
          const err = regexError(path);
          if (err) {
            problems.push({ severity: 'error', field: `${field}.path`, message: `${err}: this path is not served` });
            return null;
          }
          match = { kind: 'regex', value: path };
        } else match = { kind: 'prefix', value: path };
    }
    const s = backend.service;
    const dyn = { CONTOUR_NAMESPACE: ing.namespace, CONTOUR_SERVICE_NAME: s.name, CONTOUR_SERVICE_PORT: String(backend.port) };
    const req = headersPolicyService(this.#reqDefaults, null, true, dyn);
    const resp = headersPolicyService(this.#respDefaults, null, false, dyn);
    if (!req.ok || !resp.ok) {
      problems.push({ severity: 'error', field: `${field}.backend`, message: `policy headers of the config file: ${!req.ok ? req.error : !resp.ok ? resp.error : ''}` });
      return null;
    }
    const r: Route = {
      path: match,
      headers: [],
      queryParams: [],
      action: { kind: 'forward', clusters: [{ cluster: backend.cluster, weight: 1, requestHeaders: req.value.ops, responseHeaders: resp.value.ops }] },
      requestHeaders: { set: [], remove: [] },
      responseHeaders: { set: [], remove: [] },
      websocket: settings.websocketRoutes.has(path),
      timeouts: { responseMs: settings.responseMs, idleMs: streamIdleMs(this.#config) },
      origin: { namespace: ing.namespace, name: ing.name, kind: 'Ingress' },
    };
    if (req.value.hostRewrite !== '') r.hostRewrite = { literal: req.value.hostRewrite };
    if (settings.tlsRequired) r.httpsRedirect = true;
    if (settings.retry) r.retry = settings.retry;
    // A wildcard host matches exactly one label in the proxy's host table,
    // so Contour's extra :authority regex is not needed.
    return r;
  }

  /** The cluster of a backend; null after recording why it cannot be used. */
  #backend(
    ing: NIngress,
    b: NIngressBackend,
    field: string,
    out: Output,
    problems: IngressProblem[],
  ): { service: ResolvedService; port: number; cluster: string } | null {
    if (b.resource) {
      problems.push({ severity: 'error', field: `${field}.resource`, message: `resource backends (${b.resource}) are not supported by Contour or isobar: this path is not served` });
      return null;
    }
    let port = b.portNumber;
    if (b.portName !== '') {
      const n = this.#view.servicePortNumber(ing.namespace, b.serviceName, b.portName);
      if (n === undefined) {
        problems.push({ severity: 'error', field: `${field}.service.port.name`, message: `service "${ing.namespace}/${b.serviceName}" has no port named "${b.portName}": this path is not served` });
        return null;
      }
      port = n;
    }
    const found = this.#view.lookupService(ing.namespace, b.serviceName, port, this.#config.enableExternalNameService);
    if (!found.ok) {
      problems.push({ severity: 'error', field: `${field}.service`, message: `${found.error}: this path is not served` });
      return null;
    }
    const s = found.value;
    const protocol: UpstreamProtocol = s.protocol === '' ? 'http1' : (s.protocol as UpstreamProtocol);
    const isTls = protocol === 'tls' || protocol === 'h2';
    if (isTls && this.#config.upstreamTls?.requireValidation) {
      problems.push({
        severity: 'error',
        field: `${field}.service`,
        message: `Service "${s.namespace}/${s.name}" port ${s.port.port} uses upstream TLS, and an Ingress cannot ask for its validation, which upstream-tls.require-validation requires: this path is not served (use an HTTPProxy with validation)`,
      });
      return null;
    }
    const cc = isTls ? serviceClientCert(this.#view, this.#config, this.#clientCert, out, s) : { ok: true as const, id: undefined };
    if (!cc.ok) {
      problems.push({ severity: 'error', field: `${field}.service`, message: `${cc.error}: this path is not served` });
      return null;
    }
    const cluster = addServiceCluster(this.#view, this.#config, out, s, {
      protocol,
      validation: null,
      sni: s.externalName,
      clientCertificateId: cc.id,
      loadBalancer: ROUND_ROBIN,
      healthCheck: undefined,
      idleConnectionTimeoutMs: DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
    });
    return { service: s, port, cluster };
  }
}
