// Raw HTTPProxy objects -> the normalised model (model.ts), whose shapes
// are derived from the schema: the compiler checks that every field the
// schema has is read here, and which fields are reported as not
// implemented comes from the schema too (notImplemented), not from a list.
import { httpProxySpecSchema, isNotEnforced, isNotImplemented, type JsonSchema } from '../objects/index.ts';
import type {
  NCond,
  NHeaderCond,
  NHeaders,
  NHealthCheck,
  NLoadBalancerPolicy,
  NProxy,
  NQueryCond,
  NRoute,
  NService,
  NTCPProxy,
  NTls,
  NVirtualHost,
} from './model.ts';
import { arr, bool, int, optStr, rec, str, strArr, strMap, type Rec } from './safe.ts';
import { readIpFilterPolicy } from './ip-filter.ts';
import { readCorsPolicy } from './cors.ts';
import { readJwtProviderList, readJwtVerificationPolicy } from './jwt.ts';
import { readAuthorization, readAuthPolicy } from './authorization.ts';
import { readCookieRewritePolicies } from './cookie-rewrite.ts';
import { readInternalRedirectPolicy } from './internal-redirect.ts';
import { readLocalRateLimit, type NRateLimitPolicy } from './local-rate-limit.ts';
import type { NGlobalRateLimit } from './global-rate-limit.ts';

function propsAt(node: JsonSchema, path: readonly string[]): Record<string, JsonSchema> {
  let n = node;
  for (const seg of path) {
    n = (n['properties'] as Record<string, JsonSchema>)[seg]!;
    if (n['type'] === 'array') n = n['items'] as JsonSchema;
  }
  return n['properties'] as Record<string, JsonSchema>;
}

/** The fields of an object node isobar reads: any other that is set is
 *  reported as not implemented, or as not enforced (see fieldsOf). */
function implementedFields(node: JsonSchema, path: readonly string[]): ReadonlySet<string> {
  const props = propsAt(node, path);
  return new Set(Object.keys(props).filter((k) => !isNotImplemented(props[k]!)));
}

/** The fields of an object node that restrict access and are not enforced. */
function unenforcedFields(node: JsonSchema, path: readonly string[]): ReadonlySet<string> {
  const props = propsAt(node, path);
  return new Set(Object.keys(props).filter((k) => isNotEnforced(props[k]!)));
}

interface Fields {
  implemented: ReadonlySet<string>;
  unenforced: ReadonlySet<string>;
}

function fieldsOf(path: readonly string[]): Fields {
  return { implemented: implementedFields(httpProxySpecSchema, path), unenforced: unenforcedFields(httpProxySpecSchema, path) };
}

const VHOST_FIELDS = fieldsOf(['virtualhost']);
const ROUTE_FIELDS = fieldsOf(['routes']);
const SERVICE_FIELDS = fieldsOf(['routes', 'services']);

const NONE: string[] = [];
// Shared by every empty list: the normalised model is read-only.
const EMPTY: never[] = [];

/** `arr(v).map(f)`, without allocating for the (common) empty list. */
function mapList<T>(v: unknown, f: (x: unknown) => T): T[] {
  const a = arr(v);
  return a.length === 0 ? EMPTY : a.map((x) => f(x));
}

/** Set fields that are neither implemented nor (unenforced) restricting. */
function unsupportedFields(r: Rec, fields: Fields): string[] {
  let out: string[] | null = null;
  for (const k in r) {
    if (!Object.hasOwn(r, k) || fields.implemented.has(k) || fields.unenforced.has(k) || r[k] === undefined || r[k] === null) continue;
    (out ??= []).push(k);
  }
  return out ? out.sort() : NONE;
}

function setUnenforcedFields(r: Rec, fields: Fields): string[] {
  let out: string[] | null = null;
  for (const k of fields.unenforced) if (r[k] !== undefined && r[k] !== null) (out ??= []).push(k);
  return out ? out.sort() : NONE;
}

export function readProxy(raw: unknown): NProxy | null {
  const o = rec(raw);
  const meta = rec(o?.metadata);
  if (!o || !meta) return null;
  const name = str(meta.name);
  if (name === '') return null;
  const namespace = str(meta.namespace) || 'default';
  const spec = rec(o.spec) ?? {};
  const annotations = strMap(meta.annotations);
  const ingressClass =
    str(spec.ingressClassName) ||
    annotations['projectcontour.io/ingress.class'] ||
    annotations['kubernetes.io/ingress.class'] ||
    '';
  const gen = meta.generation;
  return {
    namespace,
    name,
    generation: typeof gen === 'number' && Number.isFinite(gen) ? gen : 0,
    ingressClass,
    virtualhost: readVirtualHost(spec.virtualhost),
    routes: mapList(spec.routes, readRoute),
    includes: mapList(spec.includes, (i) => {
      const r = rec(i) ?? {};
      return { name: str(r.name), namespace: str(r.namespace), conditions: readConds(r.conditions) };
    }),
    tcpproxy: readTCPProxy(spec.tcpproxy),
  };
}

function readVirtualHost(raw: unknown): NVirtualHost | null {
  const v = rec(raw);
  if (!v) return null;
  const fqdn = str(v.fqdn);
  return {
    fqdn,
    fqdnKey: fqdn.toLowerCase(),
    tls: readTls(v.tls),
    authorization: readAuthorization(v.authorization),
    jwtProviders: readJwtProviderList(v.jwtProviders),
    ipAllowPolicy: readIpFilterPolicy(v.ipAllowPolicy),
    ipDenyPolicy: readIpFilterPolicy(v.ipDenyPolicy),
    corsPolicy: readCorsPolicy(v.corsPolicy),
    rateLimitPolicy: readRateLimitPolicy(v.rateLimitPolicy),
    unsupported: unsupportedFields(v, VHOST_FIELDS),
    unenforced: setUnenforcedFields(v, VHOST_FIELDS),
  };
}

function readTls(raw: unknown): NTls | null {
  const t = rec(raw);
  if (!t) return null;
  const cv = rec(t.clientValidation);
  const fwd = rec(cv?.forwardClientCertificate);
  return {
    secretName: str(t.secretName),
    minimumProtocolVersion: str(t.minimumProtocolVersion),
    maximumProtocolVersion: str(t.maximumProtocolVersion),
    passthrough: bool(t.passthrough),
    enableFallbackCertificate: bool(t.enableFallbackCertificate),
    clientValidation: cv
      ? {
          caSecret: str(cv.caSecret),
          skipClientCertValidation: bool(cv.skipClientCertValidation),
          crlSecret: str(cv.crlSecret),
          crlOnlyVerifyLeafCert: bool(cv.crlOnlyVerifyLeafCert),
          optionalClientCertificate: bool(cv.optionalClientCertificate),
          forwardClientCertificate: fwd
            ? { cert: bool(fwd.cert), chain: bool(fwd.chain), dns: bool(fwd.dns), subject: bool(fwd.subject), uri: bool(fwd.uri) }
            : null,
        }
      : null,
  };
}

export function readConds(raw: unknown): NCond[] {
  return mapList(raw, (c) => {
    const r = rec(c) ?? {};
    return {
      prefix: str(r.prefix),
      exact: str(r.exact),
      regex: str(r.regex),
      header: readHeaderCond(r.header),
      queryParameter: readQueryCond(r.queryParameter),
    };
  });
}

function readHeaderCond(raw: unknown): NHeaderCond | null {
  const h = rec(raw);
  if (!h) return null;
  return {
    name: str(h.name),
    present: bool(h.present),
    notpresent: bool(h.notpresent),
    contains: str(h.contains),
    notcontains: str(h.notcontains),
    exact: str(h.exact),
    notexact: str(h.notexact),
    regex: str(h.regex),
    ignoreCase: bool(h.ignoreCase),
    treatMissingAsEmpty: bool(h.treatMissingAsEmpty),
  };
}

function readQueryCond(raw: unknown): NQueryCond | null {
  const q = rec(raw);
  if (!q) return null;
  return {
    name: str(q.name),
    exact: str(q.exact),
    prefix: str(q.prefix),
    suffix: str(q.suffix),
    regex: str(q.regex),
    contains: str(q.contains),
    present: bool(q.present),
    ignoreCase: bool(q.ignoreCase),
  };
}

function readHeaders(raw: unknown): NHeaders | null {
  const h = rec(raw);
  if (!h) return null;
  return {
    set: mapList(h.set, (e) => {
      const r = rec(e) ?? {};
      return { name: str(r.name), value: str(r.value) };
    }),
    remove: strArr(h.remove),
  };
}

export function readService(raw: unknown): NService {
  const s = rec(raw) ?? {};
  const v = rec(s.validation);
  const slow = rec(s.slowStartPolicy);
  return {
    name: str(s.name),
    port: int(s.port),
    healthPort: int(s.healthPort),
    slowStartPolicy: slow
      ? {
          window: str(slow.window),
          aggression: str(slow.aggression),
          // Absent: the CRD's default (10), which the API server would fill in.
          minWeightPercent: typeof slow.minWeightPercent === 'number' ? int(slow.minWeightPercent) : null,
        }
      : null,
    protocol: optStr(s.protocol),
    weight: int(s.weight),
    mirror: bool(s.mirror),
    validation: v
      ? { caSecret: str(v.caSecret), subjectName: str(v.subjectName), subjectNames: strArr(v.subjectNames) }
      : null,
    requestHeadersPolicy: readHeaders(s.requestHeadersPolicy),
    responseHeadersPolicy: readHeaders(s.responseHeadersPolicy),
    cookieRewritePolicies: readCookieRewritePolicies(s.cookieRewritePolicies),
    unsupported: unsupportedFields(s, SERVICE_FIELDS),
    unenforced: setUnenforcedFields(s, SERVICE_FIELDS),
  };
}

function readLoadBalancer(raw: unknown): NLoadBalancerPolicy | null {
  const l = rec(raw);
  if (!l) return null;
  return {
    strategy: str(l.strategy),
    requestHashPolicies: mapList(l.requestHashPolicies, (p) => {
      const r = rec(p) ?? {};
      const h = rec(r.headerHashOptions);
      const q = rec(r.queryParameterHashOptions);
      return {
        terminal: bool(r.terminal),
        headerHashOptions: h ? { headerName: str(h.headerName) } : null,
        queryParameterHashOptions: q ? { parameterName: str(q.parameterName) } : null,
        hashSourceIP: bool(r.hashSourceIP),
      };
    }),
  };
}

function readHealthCheck(raw: unknown): NHealthCheck | null {
  const h = rec(raw);
  if (!h) return null;
  return {
    path: str(h.path),
    host: str(h.host),
    intervalSeconds: int(h.intervalSeconds),
    timeoutSeconds: int(h.timeoutSeconds),
    unhealthyThresholdCount: int(h.unhealthyThresholdCount),
    healthyThresholdCount: int(h.healthyThresholdCount),
    expectedStatuses: mapList(h.expectedStatuses, (e) => {
      const r = rec(e) ?? {};
      return { start: int(r.start), end: int(r.end) };
    }),
  };
}

function readRoute(raw: unknown): NRoute {
  const r = rec(raw) ?? {};
  const tp = rec(r.timeoutPolicy);
  const rp = rec(r.retryPolicy);
  const prp = rec(r.pathRewritePolicy);
  const redirect = rec(r.requestRedirectPolicy);
  const direct = rec(r.directResponsePolicy);
  return {
    conditions: readConds(r.conditions),
    services: mapList(r.services, readService),
    enableWebsockets: bool(r.enableWebsockets),
    permitInsecure: bool(r.permitInsecure),
    timeoutPolicy: tp ? { response: str(tp.response), idle: str(tp.idle), idleConnection: str(tp.idleConnection) } : null,
    retryPolicy: rp
      ? {
          count: int(rp.count),
          perTryTimeout: str(rp.perTryTimeout),
          retryOn: strArr(rp.retryOn),
          retriableStatusCodes: mapList(rp.retriableStatusCodes, int),
        }
      : null,
    healthCheckPolicy: readHealthCheck(r.healthCheckPolicy),
    loadBalancerPolicy: readLoadBalancer(r.loadBalancerPolicy),
    pathRewritePolicy: prp
      ? {
          replacePrefix: mapList(prp.replacePrefix, (e) => {
            const x = rec(e) ?? {};
            return { prefix: str(x.prefix), replacement: str(x.replacement) };
          }),
        }
      : null,
    requestHeadersPolicy: readHeaders(r.requestHeadersPolicy),
    responseHeadersPolicy: readHeaders(r.responseHeadersPolicy),
    cookieRewritePolicies: readCookieRewritePolicies(r.cookieRewritePolicies),
    internalRedirectPolicy: readInternalRedirectPolicy(r.internalRedirectPolicy),
    requestRedirectPolicy: redirect
      ? {
          scheme: str(redirect.scheme),
          hostname: str(redirect.hostname),
          port: int(redirect.port),
          statusCode: int(redirect.statusCode),
          path: optStr(redirect.path),
          prefix: optStr(redirect.prefix),
        }
      : null,
    directResponsePolicy: direct ? { statusCode: int(direct.statusCode), body: str(direct.body) } : null,
    ipAllowPolicy: readIpFilterPolicy(r.ipAllowPolicy),
    ipDenyPolicy: readIpFilterPolicy(r.ipDenyPolicy),
    jwtVerificationPolicy: readJwtVerificationPolicy(r.jwtVerificationPolicy),
    authPolicy: readAuthPolicy(r.authPolicy),
    rateLimitPolicy: readRateLimitPolicy(r.rateLimitPolicy),
    unsupported: unsupportedFields(r, ROUTE_FIELDS),
    unenforced: setUnenforcedFields(r, ROUTE_FIELDS),
  };
}

function readRateLimitPolicy(raw: unknown): NRateLimitPolicy | null {
  const r = rec(raw);
  if (!r) return null;
  return { local: readLocalRateLimit(r.local), global: readGlobalRateLimit(r.global) };
}

/** rateLimitPolicy.global (and the config file's defaultGlobalRateLimitPolicy). */
export function readGlobalRateLimit(raw: unknown): NGlobalRateLimit | null {
  const g = rec(raw);
  if (!g) return null;
  return {
    disabled: bool(g.disabled),
    descriptors: mapList(g.descriptors, (d) => ({
      entries: mapList(rec(d)?.entries, (x) => {
        const e = rec(x) ?? {};
        const gk = rec(e.genericKey);
        const rh = rec(e.requestHeader);
        const vm = rec(e.requestHeaderValueMatch);
        return {
          genericKey: gk ? { key: str(gk.key), value: str(gk.value) } : null,
          requestHeader: rh ? { headerName: str(rh.headerName), descriptorKey: str(rh.descriptorKey) } : null,
          // expectMatch defaults to true (Contour's CRD default).
          requestHeaderValueMatch: vm
            ? { headers: mapList(vm.headers, (h) => readHeaderCond(h) ?? readHeaderCond({})!), expectMatch: vm.expectMatch === undefined ? true : bool(vm.expectMatch), value: str(vm.value) }
            : null,
          remoteAddress: rec(e.remoteAddress) ? {} : null,
        };
      }),
    })),
  };
}

function readTCPProxy(raw: unknown): NTCPProxy | null {
  const t = rec(raw);
  if (!t) return null;
  const include = readRef(t.include);
  const includes = readRef(t.includes);
  const hc = rec(t.healthCheckPolicy);
  return {
    services: mapList(t.services, readService),
    // The deprecated plural `includes` is honoured when the singular is absent.
    include: include ?? includes,
    includes,
    loadBalancerPolicy: readLoadBalancer(t.loadBalancerPolicy),
    healthCheckPolicy: hc
      ? {
          intervalSeconds: int(hc.intervalSeconds),
          timeoutSeconds: int(hc.timeoutSeconds),
          unhealthyThresholdCount: int(hc.unhealthyThresholdCount),
          healthyThresholdCount: int(hc.healthyThresholdCount),
        }
      : null,
  };
}

function readRef(raw: unknown): { name: string; namespace: string } | null {
  const r = rec(raw);
  return r ? { name: str(r.name), namespace: str(r.namespace) } : null;
}
