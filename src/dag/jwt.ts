// JWT verification settings of an HTTPProxy (Contour's jwtProviders on the
// virtual host, jwtVerificationPolicy on routes), checked in Contour's order
// with Contour's condition types, reasons and messages
// (httpproxy_processor.go computeHTTPProxy / computeRoutes). Pure: Secrets
// come through the lookup the caller passes. The result is plain JSON for
// the proxy (jwt-config.ts), plus the CA bundles it references.
import type { Secret } from '../objects/index.ts';
import type { CaBundle } from './proxy-config.ts';
import type { DnsLookupFamily, JwtConfig, JwtProvider, JwtRequirement, LocalJwks, RemoteJwks } from './jwt-config.ts';
import type { NJwtProvider, NJwtVerificationPolicy } from './model.ts';
import type { Checked } from './secret.ts';
import type { Condition } from './status.ts';
import { parseGoDuration } from './duration.ts';
import { goAtoiPort, goQuote, parseGoUrl } from './go-url.ts';
import { goJsonSyntaxError } from './go-json.ts';
import { pkey, splitRef } from './refs.ts';
import { arr, bool, rec, str, strArr } from './safe.ts';

/** What the reader needs from the cache (CacheView has these). */
export interface JwtSecretLookup {
  delegationPermitted(secretNs: string, secretName: string, targetNs: string): boolean;
  caSecret(ns: string, name: string): Checked<string>;
  /** The Secret itself, for a local JWKS (same namespace only). */
  secret(ns: string, name: string): Secret | undefined;
}

export interface JwtEnv {
  secrets: JwtSecretLookup;
  /** cluster.upstream-tls: the TLS versions of JWKS fetches. */
  upstreamTls: { minimumProtocolVersion: '1.2' | '1.3'; maximumProtocolVersion: '1.2' | '1.3' };
  /** cluster.dns-lookup-family: used when a provider sets none. */
  dnsLookupFamily: DnsLookupFamily;
}

/** Contour's default JWKS fetch timeout. */
export const DEFAULT_JWKS_TIMEOUT_MS = 1000;

const TYPE = 'JWTVerificationError';

/** `Spec.VirtualHost.JWTProviders can only be defined for root HTTPProxies
 *  that terminate TLS` applies (checked before the TLS block in Contour). */
export function jwtProvidersNeedTls(vh: { jwtProviders: unknown[]; tls: { secretName: string } | null }): boolean {
  return vh.jwtProviders.length > 0 && (!vh.tls || vh.tls.secretName === '');
}

export function addJwtNeedsTlsError(cond: Condition): void {
  cond.addError(TYPE, 'JWTVerificationNotPermitted', 'Spec.VirtualHost.JWTProviders can only be defined for root HTTPProxies that terminate TLS');
}

export interface JwtProviders {
  providers: JwtProvider[];
  /** The provider every route requires unless it says otherwise; "" for none. */
  defaultProvider: string;
  /** CA bundles the providers' validation references, for ProxyConfig.caBundles. */
  caBundles: CaBundle[];
}

const NO_PROVIDERS: JwtProviders = { providers: [], defaultProvider: '', caBundles: [] };

/** The providers of `spec.virtualhost.jwtProviders` of a TLS-terminating
 *  root in `namespace`; null after recording the (fatal) error. */
export function readJwtProviders(env: JwtEnv, cond: Condition, namespace: string, list: readonly NJwtProvider[]): JwtProviders | null {
  if (list.length === 0) return NO_PROVIDERS;
  const names = new Set<string>();
  let defaultProvider = '';
  const providers: JwtProvider[] = [];
  const caBundles: CaBundle[] = [];
  for (const p of list) {
    const name = p.name;
    if (names.has(name)) {
      cond.addError(TYPE, 'DuplicateProviderName', `Spec.VirtualHost.JWTProviders is invalid: duplicate name ${name}`);
      return null;
    }
    names.add(name);
    if (p.default) {
      if (defaultProvider !== '') {
        cond.addError(TYPE, 'MultipleDefaultProvidersSpecified', 'Spec.VirtualHost.JWTProviders is invalid: at most one provider can be set as the default');
        return null;
      }
      defaultProvider = name;
    }
    // Contour's remoteJWKS and localJWKS are structs, not pointers: absent reads as empty.
    const uri = p.remoteJWKS?.uri ?? '';
    const secretName = p.localJWKS?.secretName ?? '';
    if (uri !== '' && secretName !== '') {
      cond.addError(TYPE, 'JWKSSourceConflict', `Spec.VirtualHost.JWTProviders for provider ${goQuote(name)} is invalid: at most one of remoteJWKS or localJWKS may be set`);
      return null;
    }
    if (uri === '' && secretName === '') {
      cond.addError(TYPE, 'JWKSSourceMissing', `Spec.VirtualHost.JWTProviders for provider ${goQuote(name)} is invalid: exactly one of remoteJWKS or localJWKS must be set`);
      return null;
    }
    const jwks = secretName !== '' ? localJwks(env, cond, namespace, name, secretName, p.localJWKS?.key ?? '') : remoteJwks(env, cond, namespace, p.remoteJWKS!, caBundles);
    if (!jwks) return null;
    providers.push({ name, issuer: p.issuer, audiences: p.audiences, forwardJWT: p.forwardJWT, jwks });
  }
  return { providers, defaultProvider, caBundles };
}

/** LookupJWKSFromSecret + validJWKSSecret: an Opaque Secret in the proxy's
 *  namespace whose `key` holds a JSON object with a "keys" array. */
function localJwks(env: JwtEnv, cond: Condition, namespace: string, provider: string, secretName: string, key: string): LocalJwks | null {
  const problem = jwksSecretProblem(env.secrets.secret(namespace, secretName), key);
  if (typeof problem === 'string') {
    cond.addError(TYPE, 'LocalJWKSInvalid', `Spec.VirtualHost.JWTProviders.LocalJWKS for provider ${goQuote(provider)} is invalid: ${problem}`);
    return null;
  }
  return { kind: 'local', json: problem.json };
}

function jwksSecretProblem(secret: Secret | undefined, key: string): string | { json: string } {
  if (!secret) return 'Secret not found';
  if ((str(secret.type) || 'Opaque') !== 'Opaque') return 'secret type is not "Opaque"';
  const data = str(rec(secret.data)?.[key]);
  if (data === '') return `missing ${goQuote(key)} key or empty value`;
  const trimmed = data.trim();
  if (trimmed === '') return 'empty JWKS';
  const syntax = goJsonSyntaxError(trimmed);
  if (syntax) return `not valid JSON: ${syntax}`;
  const doc: unknown = JSON.parse(trimmed);
  const obj = rec(doc);
  if (!obj) return 'JWKS must be a JSON object';
  if (!Object.hasOwn(obj, 'keys')) return 'JWKS must contain a "keys" array';
  if (!Array.isArray(obj.keys)) return 'JWKS "keys" must be an array';
  return { json: trimmed };
}

type NRemoteJwks = NonNullable<NJwtProvider['remoteJWKS']>;

function remoteJwks(env: JwtEnv, cond: Condition, namespace: string, remote: NRemoteJwks, caBundles: CaBundle[]): RemoteJwks | null {
  const uri = remote.uri;
  const url = parseGoUrl(uri);
  if (!url.ok) {
    cond.addError(TYPE, 'RemoteJWKSURIInvalid', `Spec.VirtualHost.JWTProviders.RemoteJWKS.URI is invalid: ${url.error}`);
    return null;
  }
  if (url.scheme !== 'http' && url.scheme !== 'https') {
    cond.addError(TYPE, 'RemoteJWKSSchemeInvalid', `Spec.VirtualHost.JWTProviders.RemoteJWKS.URI has invalid scheme ${goQuote(url.scheme)}, must be http or https`);
    return null;
  }
  let validation: RemoteJwks['validation'];
  const uv = remote.validation;
  if (uv) {
    if (url.scheme === 'http') {
      cond.addError(TYPE, 'RemoteJWKSUpstreamValidationInvalid', 'Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation must not be specified when URI scheme is http.');
      return null;
    }
    const ref = splitRef(uv.caSecret, namespace);
    const id = pkey(ref.namespace, ref.name);
    if (!env.secrets.delegationPermitted(ref.namespace, ref.name, namespace)) {
      cond.addError(
        TYPE,
        'RemoteJWKSCACertificateNotDelegated',
        `Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation.CACertificate Secret ${goQuote(id)} is not configured for certificate delegation`,
      );
      return null;
    }
    const invalid = (why: string): null => {
      cond.addError(TYPE, 'RemoteJWKSUpstreamValidationInvalid', `Spec.VirtualHost.JWTProviders.RemoteJWKS.UpstreamValidation is invalid: ${why}`);
      return null;
    };
    const ca = env.secrets.caSecret(ref.namespace, ref.name);
    if (!ca.ok) return invalid(`invalid CA Secret ${goQuote(id)}: ${ca.error}`);
    const subjectName = uv.subjectName;
    if (subjectName === '') return invalid('missing subject alternative name');
    const subjectNames = uv.subjectNames;
    if (subjectNames.length > 0 && subjectNames[0] !== subjectName) {
      return invalid(`first entry of SubjectNames (${subjectNames[0]}) does not match SubjectName (${subjectName})`);
    }
    caBundles.push({ id, caPem: ca.value });
    validation = { caBundleId: id, subjectNames: subjectNames.length > 0 ? subjectNames : [subjectName] };
  }
  let timeoutMs = DEFAULT_JWKS_TIMEOUT_MS;
  const timeout = remote.timeout;
  if (timeout !== '') {
    const d = parseGoDuration(timeout);
    if (!d.ok) {
      cond.addError(TYPE, 'RemoteJWKSTimeoutInvalid', `Spec.VirtualHost.JWTProviders.RemoteJWKS.Timeout is invalid: ${d.error}`);
      return null;
    }
    timeoutMs = d.ms;
  }
  let cacheDurationMs: number | null = null;
  const cacheDuration = remote.cacheDuration;
  if (cacheDuration !== '') {
    const d = parseGoDuration(cacheDuration);
    if (!d.ok) {
      cond.addError(TYPE, 'RemoteJWKSCacheDurationInvalid', `Spec.VirtualHost.JWTProviders.RemoteJWKS.CacheDuration is invalid: ${d.error}`);
      return null;
    }
    cacheDurationMs = d.ms;
  }
  if (url.port !== '') {
    const port = goAtoiPort(url.port);
    if (!port.ok) {
      cond.addError(TYPE, 'RemoteJWKSPortInvalid', `Spec.VirtualHost.JWTProviders.RemoteJWKS.URI has an invalid port: ${port.error}`);
      return null;
    }
  }
  const family = remote.dnsLookupFamily;
  let dnsLookupFamily: DnsLookupFamily;
  if (family === 'auto' || family === 'v4' || family === 'v6' || family === 'all') dnsLookupFamily = family;
  else if (family === '') dnsLookupFamily = env.dnsLookupFamily;
  else {
    cond.addError(
      TYPE,
      'RemoteJWKSDNSLookupFamilyInvalid',
      `Spec.VirtualHost.JWTProviders.RemoteJWKS.DNSLookupFamily has an invalid value ${goQuote(family)}, must be auto, all, v4 or v6`,
    );
    return null;
  }
  return {
    kind: 'remote',
    uri,
    // A zero or negative deadline would never fire: such a fetch gets the default.
    timeoutMs: timeoutMs > 0 ? timeoutMs : DEFAULT_JWKS_TIMEOUT_MS,
    cacheDurationMs: cacheDurationMs === null ? null : Math.max(0, cacheDurationMs),
    dnsLookupFamily,
    ...(validation ? { validation } : {}),
    minTlsVersion: env.upstreamTls.minimumProtocolVersion,
    maxTlsVersion: env.upstreamTls.maximumProtocolVersion,
  };
}

/** The provider a route requires (its jwtVerificationPolicy, else the
 *  default); "" for none; null after recording the (fatal) error. */
export function routeJwtProvider(cond: Condition, policy: NJwtVerificationPolicy | null, defaultProvider: string): string | null {
  if (!policy) return defaultProvider;
  const { require, disabled } = policy;
  if (require !== '' && disabled) {
    cond.addError(TYPE, 'InvalidJWTVerificationPolicy', "route's JWT verification policy cannot specify both require and disabled");
    return null;
  }
  if (require !== '') return require;
  if (disabled) return '';
  return defaultProvider;
}

/** After the routes of a root are computed: each provider a route requires
 *  must be one of the virtual host's. Contour checks this only for TLS
 *  virtual hosts and otherwise serves such a route unverified; isobar
 *  reports it on every virtual host (nothing asked to be protected is
 *  served unprotected). false after recording the (fatal) error. */
export function checkRouteProviders(cond: Condition, providers: readonly JwtProvider[], routes: Iterable<{ jwt?: JwtRequirement }>): boolean {
  const names = new Set(providers.map((p) => p.name));
  for (const r of routes) {
    const required = r.jwt?.provider ?? '';
    if (required === '' || names.has(required)) continue;
    cond.addError(TYPE, 'JWTProviderNotDefined', `Route references an undefined JWT provider ${goQuote(required)}`);
    return false;
  }
  return true;
}

/** A TCPProxy forwards a byte stream: no request to verify. Contour accepts
 *  the providers and verifies nothing; isobar refuses (fail closed). */
export function jwtTcpProxyError(cond: Condition, jwt: JwtProviders): boolean {
  if (jwt.providers.length === 0) return false;
  cond.addError(
    TYPE,
    'JWTVerificationNotSupported',
    'Spec.VirtualHost.JWTProviders is not supported by isobar on a virtual host with Spec.TCPProxy: JWTs are verified on HTTP requests only',
  );
  return true;
}

/** The virtual host's JWT config (undefined without providers), after
 *  handing the CA bundles it references to `addCaBundle`. */
export function vhostJwtConfig(jwt: JwtProviders, addCaBundle: (b: CaBundle) => void): JwtConfig | undefined {
  if (jwt.providers.length === 0) return undefined;
  for (const b of jwt.caBundles) addCaBundle(b);
  return { providers: jwt.providers };
}

/** read.ts: spec.virtualhost.jwtProviders into the model. */
export function readJwtProviderList(raw: unknown): NJwtProvider[] {
  return arr(raw).map((x) => {
    const p = rec(x) ?? {};
    const remote = rec(p.remoteJWKS);
    const local = rec(p.localJWKS);
    const v = rec(remote?.validation);
    return {
      name: str(p.name),
      default: bool(p.default),
      issuer: str(p.issuer),
      audiences: strArr(p.audiences),
      remoteJWKS: remote
        ? {
            uri: str(remote.uri),
            validation: v ? { caSecret: str(v.caSecret), subjectName: str(v.subjectName), subjectNames: strArr(v.subjectNames) } : null,
            timeout: str(remote.timeout),
            cacheDuration: str(remote.cacheDuration),
            dnsLookupFamily: str(remote.dnsLookupFamily),
          }
        : null,
      localJWKS: local ? { secretName: str(local.secretName), key: str(local.key) } : null,
      forwardJWT: bool(p.forwardJWT),
    };
  });
}

/** read.ts: a route's jwtVerificationPolicy into the model. */
export function readJwtVerificationPolicy(raw: unknown): NJwtVerificationPolicy | null {
  const p = rec(raw);
  return p ? { require: str(p.require), disabled: bool(p.disabled) } : null;
}
