// External authorization on HTTPProxies, Contour's rules
// (httpproxy_processor.go: computeSecureVirtualHostAuthorization,
// computeVirtualHostAuthorization, NewExternalAuthorization,
// validateExternalAuthExtensionService; helpers.go: AuthorizationContext,
// DisableAuthorization): which authorization server a virtual host uses
// (its own `authorization`, else the config file's globalExtAuth), with
// which timeout, failOpen and body settings, and each route's policy
// (disabled, context merged over the virtual host's). Pure.
//
// isobar's differences, all fail closed: an HTTP authorization server
// (serviceType: http) is not supported and makes the HTTPProxy invalid;
// authorization on a TLS passthrough or TCPProxy virtual host (which
// Contour silently leaves unprotected) is an error; and a virtual host's
// own authorization also guards its permitInsecure routes on the plain
// listener (Contour's plain listener has only the global filter).
import type { GlobalExtAuth } from '../config/index.ts';
import type { ExtensionCluster, ExternalAuthorization, RouteAuthorization } from './authorization-config.ts';
import type { NRoute, NVirtualHost } from './model.ts';
import { extensionClusterName, EXTENSION_API_VERSION } from './extension-processor.ts';
import { parseTimeout, timeoutMs } from './duration.ts';
import { bool, int, rec, str, strMap } from './safe.ts';
import { Condition } from './status.ts';

export type { ExternalAuthorization, RouteAuthorization } from './authorization-config.ts';

/** Contour's default maxRequestBytes. */
export const DEFAULT_MAX_REQUEST_BYTES = 1024;
/** Envoy's ext_authz default timeout when neither the HTTPProxy nor the
 *  ExtensionService sets one. */
export const DEFAULT_AUTHZ_TIMEOUT_MS = 200;

/** virtualhost.authorization (AuthorizationServer) as the model reads it. */
export type NAuthorization = NonNullable<NVirtualHost['authorization']>;
/** A route's authPolicy (AuthorizationPolicy). */
export type NAuthPolicy = NonNullable<NRoute['authPolicy']>;

/** A route's authPolicy into the model (read.ts). */
export function readAuthPolicy(raw: unknown): NAuthPolicy | null {
  const r = rec(raw);
  return r ? { disabled: bool(r.disabled), context: rec(r.context) ? strMap(r.context) : null } : null;
}

/** virtualhost.authorization into the model (read.ts). */
export function readAuthorization(raw: unknown): NAuthorization | null {
  const a = rec(raw);
  if (!a) return null;
  const ref = rec(a.extensionRef);
  const wb = rec(a.withRequestBody);
  return {
    extensionRef: ref ? { apiVersion: str(ref.apiVersion), namespace: str(ref.namespace), name: str(ref.name) } : null,
    serviceType: str(a.serviceType),
    httpSettings: rec(a.httpSettings),
    authPolicy: readAuthPolicy(a.authPolicy),
    responseTimeout: str(a.responseTimeout),
    failOpen: bool(a.failOpen),
    withRequestBody: wb ? { maxRequestBytes: Math.max(0, int(wb.maxRequestBytes)), allowPartialMessage: bool(wb.allowPartialMessage), packAsBytes: bool(wb.packAsBytes) } : null,
  };
}

/** globalExtAuth -> the AuthorizationServer it stands for (servecontext.go). */
export function globalAuthorization(g: GlobalExtAuth | undefined): NAuthorization | null {
  if (!g || g.extensionService === '') return null;
  const i = g.extensionService.indexOf('/');
  const wb = g.withRequestBody;
  return {
    extensionRef: { apiVersion: '', namespace: i < 0 ? '' : g.extensionService.slice(0, i), name: i < 0 ? g.extensionService : g.extensionService.slice(i + 1) },
    serviceType: g.serviceType ?? '',
    httpSettings: g.httpSettings ? {} : null,
    authPolicy: g.authPolicy ? { disabled: g.authPolicy.disabled === true, context: { ...(g.authPolicy.context ?? {}) } } : null,
    responseTimeout: g.responseTimeout ?? '',
    failOpen: g.failOpen === true,
    withRequestBody: wb ? { maxRequestBytes: Math.max(0, wb.maxRequestBytes ?? 0), allowPartialMessage: wb.allowPartialMessage === true, packAsBytes: wb.packAsBytes === true } : null,
  };
}

/** An ExtensionService cluster by name ("extension/<ns>/<name>"); only
 *  valid ExtensionServices have one. */
export type ExtensionLookup = (clusterName: string) => ExtensionCluster | undefined;

/** computeVirtualHostAuthorization: the reference, then the settings;
 *  null after recording an error. */
export function computeAuthorization(auth: NAuthorization, proxyNamespace: string, lookup: ExtensionLookup, cond: Condition): ExternalAuthorization | null {
  // validateExternalAuthExtensionService
  const ref = auth.extensionRef ?? { apiVersion: '', namespace: '', name: '' };
  const apiVersion = ref.apiVersion || EXTENSION_API_VERSION;
  if (apiVersion !== EXTENSION_API_VERSION) {
    cond.addError('AuthError', 'AuthBadResourceVersion', `Spec.Virtualhost.Authorization.extensionRef specifies an unsupported resource version "${apiVersion}"`);
    return null;
  }
  const namespace = ref.namespace || proxyNamespace;
  const ext = lookup(extensionClusterName(namespace, ref.name));
  if (!ext) {
    cond.addError('AuthError', 'ExtensionServiceNotFound', `Spec.Virtualhost.Authorization.ServiceRef extension service "${namespace}/${ref.name}" not found`);
    return null;
  }
  // NewExternalAuthorization
  const t = parseTimeout(auth.responseTimeout);
  if (!t.ok) {
    cond.addError('AuthError', 'AuthResponseTimeoutInvalid', `Spec.Virtualhost.Authorization.ResponseTimeout is invalid: ${t.error}`);
    return null;
  }
  if (auth.serviceType === 'http') {
    if (auth.authPolicy?.context && Object.keys(auth.authPolicy.context).length > 0) {
      cond.addError('AuthError', 'AuthContextForHTTP', 'Spec.Virtualhost.Authorization.AuthPolicy.Context are only applied to grpc service type');
      return null;
    }
    cond.addError(
      'AuthError',
      'AuthServiceTypeNotSupported',
      'Spec.Virtualhost.Authorization.ServiceType "http" is not supported by isobar: only gRPC authorization servers (serviceType: grpc) are',
    );
    return null;
  }
  // Without a timeout of its own, the ExtensionService's applies, else Envoy's default.
  let responseTimeoutMs: number | null;
  if (t.timeout.kind !== 'default') responseTimeoutMs = timeoutMs(t.timeout, null);
  else if (ext.responseTimeoutMs !== undefined) responseTimeoutMs = ext.responseTimeoutMs;
  else responseTimeoutMs = DEFAULT_AUTHZ_TIMEOUT_MS;
  const out: ExternalAuthorization = { extensionCluster: ext.name, responseTimeoutMs, failOpen: auth.failOpen };
  const wb = auth.withRequestBody;
  if (wb) {
    out.withRequestBody = {
      maxRequestBytes: wb.maxRequestBytes !== 0 ? wb.maxRequestBytes : DEFAULT_MAX_REQUEST_BYTES,
      allowPartialMessage: wb.allowPartialMessage,
      packAsBytes: wb.packAsBytes,
    };
  }
  return out;
}

/** authorization.extensionRef.name is set (ExtensionServiceRef.IsConfigured). */
export function hasExtensionRef(auth: NAuthorization | null): boolean {
  return auth !== null && (auth.extensionRef?.name ?? '') !== '';
}

/** The authorization of a TLS virtual host: its own, else the global one
 *  (computeSecureVirtualHostAuthorization). `ok: false` after an error. */
export function secureVirtualHostAuthorization(
  auth: NAuthorization | null,
  global: NAuthorization | null,
  proxyNamespace: string,
  lookup: ExtensionLookup,
  cond: Condition,
): { ok: true; authorization: ExternalAuthorization | null } | { ok: false } {
  const chosen = hasExtensionRef(auth) ? auth : global;
  if (!chosen) return { ok: true, authorization: null };
  const a = computeAuthorization(chosen, proxyNamespace, lookup, cond);
  return a ? { ok: true, authorization: a } : { ok: false };
}

/** The authorization of the plain-listener virtual host. Contour puts only
 *  the global filter there (validated unless the virtual host disables
 *  authorization); isobar also guards a TLS virtual host's own
 *  permitInsecure routes with the virtual host's authorization. */
export function insecureVirtualHostAuthorization(
  auth: NAuthorization | null,
  global: NAuthorization | null,
  secure: ExternalAuthorization | null,
  proxyNamespace: string,
  lookup: ExtensionLookup,
  cond: Condition,
): { ok: true; authorization: ExternalAuthorization | null } | { ok: false } {
  if (hasExtensionRef(auth) && secure) return { ok: true, authorization: secure };
  if (!global) return { ok: true, authorization: null };
  const disabled = auth?.authPolicy?.disabled === true;
  // Contour validates it only where it is not disabled.
  const a = computeAuthorization(global, proxyNamespace, lookup, disabled ? new Condition() : cond);
  if (a) return { ok: true, authorization: a };
  if (!disabled) return { ok: false };
  // Disabled here, but a route may turn it back on: it then meets the
  // global server as configured, missing or not (the proxy denies).
  return {
    ok: true,
    authorization: {
      extensionCluster: extensionClusterName(global.extensionRef?.namespace || proxyNamespace, global.extensionRef?.name ?? ''),
      responseTimeoutMs: DEFAULT_AUTHZ_TIMEOUT_MS,
      failOpen: global.failOpen,
    },
  };
}

/** A route's policy when its virtual host or the global config has
 *  authorization; undefined when neither does. Redirect routes carry no
 *  per-route policy in Contour, so the filter checks them with no context. */
export function routeAuthorization(
  vhostAuth: NAuthorization | null,
  global: NAuthorization | null,
  route: NAuthPolicy | null,
  kind: 'forward' | 'direct' | 'redirect',
): RouteAuthorization | undefined {
  if (!vhostAuth && !global) return undefined;
  if (kind === 'redirect') return { disabled: false, context: {} };
  // Global, then the virtual host, then the route: the innermost policy wins.
  let disabled = global?.authPolicy?.disabled === true;
  if (vhostAuth) disabled = vhostAuth.authPolicy?.disabled === true;
  if (route) disabled = route.disabled;
  const parent = (vhostAuth ? vhostAuth.authPolicy?.context : global?.authPolicy?.context) ?? {};
  return { disabled, context: { ...parent, ...(route?.context ?? {}) } };
}

/** Authorization that isobar cannot enforce on this virtual host, as an
 *  error message; null when there is none. */
export function unenforceableAuthorization(auth: NAuthorization | null, tls: { passthrough: boolean } | null, tcpproxy: boolean): string | null {
  if (!hasExtensionRef(auth)) return null;
  if (tls?.passthrough) return 'Spec.VirtualHost.Authorization cannot be enforced on a TLS passthrough virtual host: isobar does not see its requests';
  if (tcpproxy) return 'Spec.VirtualHost.Authorization cannot be enforced on a TCPProxy: isobar does not see its requests';
  return null;
}

export interface VirtualHostAuthorizations {
  /** For the HTTPS listener's virtual host. */
  secure: ExternalAuthorization | null;
  /** For the plain listener's virtual host. */
  insecure: ExternalAuthorization | null;
}

/** Both listeners' authorization of one root (the processor's one call per
 *  virtual host); null after recording an error: nothing is served. */
export function virtualHostAuthorization(
  cond: Condition,
  vh: { authorization: NAuthorization | null; tls: { passthrough: boolean } | null },
  tcpproxy: boolean,
  tlsEnabled: boolean,
  proxyNamespace: string,
  global: NAuthorization | null,
  lookup: ExtensionLookup,
): VirtualHostAuthorizations | null {
  const unenforceable = unenforceableAuthorization(vh.authorization, vh.tls, tcpproxy);
  if (unenforceable !== null) {
    cond.addError('AuthError', 'AuthNotSupported', unenforceable);
    return null;
  }
  let secure: ExternalAuthorization | null = null;
  if (tlsEnabled && !tcpproxy && !vh.tls?.passthrough) {
    const s = secureVirtualHostAuthorization(vh.authorization, global, proxyNamespace, lookup, cond);
    if (!s.ok) return null;
    secure = s.authorization;
  }
  const i = insecureVirtualHostAuthorization(vh.authorization, global, secure, proxyNamespace, lookup, cond);
  if (!i.ok) return null;
  return { secure, insecure: i.authorization };
}
