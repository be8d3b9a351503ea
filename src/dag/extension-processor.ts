// The ExtensionService processor: Contour's internal/dag/extension_processor.go
// rule by rule. Each ExtensionService (projectcontour.io/v1alpha1) becomes
// an extension cluster the proxy dials for external authorization, and a
// status with one `Valid` condition in Contour's words. Only an
// ExtensionService without errors yields a cluster (warnings do not stop
// it). isobar's differences: circuit breakers are not enforced yet, so
// they make it invalid; gRPC needs h2 or h2c, so http/1.1 is an error;
// upstream-tls.require-validation applies to h2 without validation.
import type { IsobarConfig } from '../config/index.ts';
import type { ExtensionServiceStatus } from '../status/index.ts';
import type { CacheView } from './cache-view.ts';
import type { CaBundle, TlsSecret, UpstreamTls } from './proxy-config.ts';
import type { ExtensionCluster, ExtensionLoadBalancer } from './authorization-config.ts';
import { parseTimeout, timeoutMs, type Timeout } from './duration.ts';
import { pkey, splitRef } from './refs.ts';
import { arr, int, rec, str } from './safe.ts';
import { Condition } from './status.ts';
import { tlsVersion } from './vhost-tls.ts';

export type { ExtensionCluster } from './authorization-config.ts';
export type { ExtensionServiceStatus } from '../status/index.ts';

export const EXTENSION_API_VERSION = 'projectcontour.io/v1alpha1';
export const VALID_EXTENSION_MESSAGE = 'Valid ExtensionService';
const ERROR_MESSAGE = 'At least one error present, see Errors for details';

export interface ExtensionResult {
  namespace: string;
  name: string;
  /** null when the ExtensionService has errors. */
  cluster: ExtensionCluster | null;
  status: ExtensionServiceStatus;
  /** What the cluster references, for the ProxyConfig. */
  caBundles: CaBundle[];
  secrets: TlsSecret[];
}

/** ExtensionClusterName */
export function extensionClusterName(namespace: string, name: string): string {
  return `extension/${namespace}/${name}`;
}

interface NExtension {
  namespace: string;
  name: string;
  generation: number;
  services: { name: string; port: number; weight: number }[];
  protocol: string | null;
  protocolVersion: string;
  validation: { caSecret: string; subjectName: string; subjectNames: string[] } | null;
  loadBalancerStrategy: string | null;
  timeoutPolicy: { response: string; idle: string; idleConnection: string } | null;
  circuitBreakerPolicy: boolean;
}

/** Raw object -> normalised ExtensionService; null without a name. */
export function readExtensionService(raw: unknown): NExtension | null {
  const o = rec(raw);
  const meta = rec(o?.metadata);
  const name = str(meta?.name);
  if (!o || name === '') return null;
  const spec = rec(o.spec) ?? {};
  const v = rec(spec.validation);
  const lb = rec(spec.loadBalancerPolicy);
  const tp = rec(spec.timeoutPolicy);
  const gen = meta?.generation;
  return {
    namespace: str(meta?.namespace) || 'default',
    name,
    generation: typeof gen === 'number' && Number.isFinite(gen) ? gen : 0,
    services: arr(spec.services).map((s) => {
      const r = rec(s) ?? {};
      return { name: str(r.name), port: int(r.port), weight: Math.max(0, int(r.weight)) };
    }),
    protocol: typeof spec.protocol === 'string' ? spec.protocol : null,
    protocolVersion: str(spec.protocolVersion),
    validation: v ? { caSecret: str(v.caSecret), subjectName: str(v.subjectName), subjectNames: arr(v.subjectNames).map(str) } : null,
    loadBalancerStrategy: lb ? str(lb.strategy) : null,
    timeoutPolicy: tp ? { response: str(tp.response), idle: str(tp.idle), idleConnection: str(tp.idleConnection) } : null,
    circuitBreakerPolicy: rec(spec.circuitBreakerPolicy) !== null,
  };
}

function toExtensionStatus(ext: NExtension, cond: Condition): ExtensionServiceStatus {
  const invalid = cond.errors.length > 0;
  return {
    namespace: ext.namespace,
    name: ext.name,
    conditions: [
      {
        type: 'Valid',
        status: invalid ? 'False' : 'True',
        observedGeneration: ext.generation,
        reason: invalid ? 'ErrorPresent' : 'Valid',
        message: invalid ? ERROR_MESSAGE : VALID_EXTENSION_MESSAGE,
        errors: cond.errors,
        warnings: cond.warnings,
      },
    ],
  };
}

/** timeoutPolicy(): the three timeouts, or Contour's error text. */
function timeouts(tp: NExtension['timeoutPolicy']): { ok: true; response: Timeout; idleConnection: Timeout } | { ok: false; error: string } {
  if (!tp) return { ok: true, response: { kind: 'default' }, idleConnection: { kind: 'default' } };
  const response = parseTimeout(tp.response);
  if (!response.ok) return { ok: false, error: `error parsing response timeout: ${response.error}` };
  const idle = parseTimeout(tp.idle);
  if (!idle.ok) return { ok: false, error: `error parsing idle timeout: ${idle.error}` };
  const idleConnection = parseTimeout(tp.idleConnection);
  if (!idleConnection.ok) return { ok: false, error: `error parsing idle connection timeout: ${idleConnection.error}` };
  return { ok: true, response: response.timeout, idleConnection: idleConnection.timeout };
}

const DEFAULT_IDLE_CONNECTION_TIMEOUT_MS = 3_600_000;

/** buildExtensionService: one ExtensionService -> cluster + status. */
export function processExtensionService(raw: unknown, view: CacheView, config: IsobarConfig): ExtensionResult | null {
  const ext = readExtensionService(raw);
  if (!ext) return null;
  const cond = new Condition();
  const caBundles: CaBundle[] = [];
  const secrets: TlsSecret[] = [];
  const cluster = build(ext, view, config, cond, caBundles, secrets);
  const valid = cond.errors.length === 0;
  return {
    namespace: ext.namespace,
    name: ext.name,
    cluster: valid ? cluster : null,
    status: toExtensionStatus(ext, cond),
    caBundles: valid ? caBundles : [],
    secrets: valid ? secrets : [],
  };
}

function build(ext: NExtension, view: CacheView, config: IsobarConfig, cond: Condition, caBundles: CaBundle[], secrets: TlsSecret[]): ExtensionCluster | null {
  const t = timeouts(ext.timeoutPolicy);
  if (!t.ok) cond.addError('SpecError', 'TimeoutPolicyNotValid', `spec.timeoutPolicy failed to parse: ${t.error}`);

  let clientCertificateId: string | undefined;
  const cc = config.tls?.envoyClientCertificate;
  if (cc) {
    // Configured by the admin: no delegation needed.
    const s = view.tlsSecret(cc.namespace, cc.name);
    const id = pkey(cc.namespace, cc.name);
    if (!s.ok) cond.addError('TLSError', 'SecretNotValid', `tls.envoy-client-certificate Secret "${id}" is invalid: ${s.error}`);
    else {
      clientCertificateId = id;
      secrets.push({ id, ...s.value });
    }
  }

  if (ext.circuitBreakerPolicy) {
    // Fail closed: a budget isobar does not enforce is never silently dropped.
    cond.addError('SpecError', 'NotSupported', 'Spec.CircuitBreakerPolicy is not supported by isobar; this ExtensionService is not served, rather than served without it');
  }

  let loadBalancer: ExtensionLoadBalancer = 'RoundRobin';
  switch (ext.loadBalancerStrategy) {
    case 'WeightedLeastRequest':
    case 'Random':
    case 'RoundRobin':
      loadBalancer = ext.loadBalancerStrategy;
      break;
    case 'Cookie':
    case 'RequestHash':
      cond.addWarning(
        'SpecError',
        'IgnoredField',
        `ignoring field ".Spec.LoadBalancerPolicy"; ${ext.loadBalancerStrategy} load balancer policy is not supported for ExtensionClusters`,
      );
      break;
  }

  // The ext_authz filter has only a request timeout.
  if (ext.timeoutPolicy && ext.timeoutPolicy.idle !== '') {
    cond.addWarning('SpecError', 'IgnoredField', 'ignoring field ".Spec.TimeoutPolicy.Idle"; idle timeouts are not supported for ExtensionClusters');
  }

  if (ext.protocolVersion !== '' && ext.protocolVersion !== 'v3') {
    cond.addError('SpecError', 'UnsupportedProtocolVersion', `Spec.ProtocolVersion "${ext.protocolVersion}" is not supported: the only version is "v3"`);
  }

  let protocol: 'h2' | 'h2c' = 'h2';
  if (ext.protocol !== null && ext.protocol !== '') {
    if (ext.protocol === 'h2' || ext.protocol === 'h2c') protocol = ext.protocol;
    else {
      // Contour accepts http/1.1 and every Check then fails: refuse it here.
      cond.addError('SpecError', 'UnsupportedProtocol', `Spec.Protocol "${ext.protocol}" is not supported: the authorization API is gRPC, use h2 or h2c`);
      return null;
    }
  }

  let tls: UpstreamTls | undefined;
  if (protocol === 'h2') {
    tls = {
      minVersion: tlsVersion(config.upstreamTls?.minimumProtocolVersion ?? '1.2', '1.2'),
      maxVersion: tlsVersion(config.upstreamTls?.maximumProtocolVersion ?? '1.3', '1.3'),
    };
    if (clientCertificateId !== undefined) tls.clientCertificateId = clientCertificateId;
  }

  const v = ext.validation;
  if (v) {
    // A bare name is in the ExtensionService's namespace.
    const ref = splitRef(v.caSecret, ext.namespace);
    const id = pkey(ref.namespace, ref.name);
    if (!view.delegationPermitted(ref.namespace, ref.name, ext.namespace)) {
      cond.addError('TLSError', 'CACertificateNotDelegated', `service.UpstreamValidation.CACertificate Secret "${id}" is not configured for certificate delegation`);
      return null;
    }
    const ca = view.caSecret(ref.namespace, ref.name);
    const problem = !ca.ok
      ? `invalid CA Secret "${id}": ${ca.error}`
      : v.subjectName === ''
        ? 'missing subject alternative name'
        : v.subjectNames.length > 0 && v.subjectNames[0] !== v.subjectName
          ? `first entry of SubjectNames (${v.subjectNames[0]}) does not match SubjectName (${v.subjectName})`
          : null;
    if (!ca.ok || problem !== null) {
      cond.addError('SpecError', 'TLSUpstreamValidation', `TLS upstream validation policy error: ${problem}`);
      return null;
    }
    const subjectNames = v.subjectNames.length > 0 ? [...v.subjectNames] : [v.subjectName];
    if (protocol !== 'h2') {
      cond.addError('SpecError', 'InconsistentProtocol', `upstream TLS validation not supported for "${protocol}" protocol`);
    } else {
      caBundles.push({ id, caPem: ca.value });
      // The SNI defaults to the name to validate.
      tls!.sni = subjectNames[0]!;
      tls!.validation = { caBundleId: id, subjectNames };
    }
  } else if (protocol === 'h2' && config.upstreamTls?.requireValidation) {
    cond.addError(
      'SpecError',
      'UpstreamValidationRequired',
      'Spec.Protocol h2 without Spec.Validation, which upstream-tls.require-validation forbids: add validation.caSecret and validation.subjectName',
    );
  }

  if (ext.services.length === 0) cond.addError('ServiceError', 'ServicesNotSpecified', 'Spec.Services must name at least one Service');
  const services: ExtensionCluster['services'] = [];
  for (const target of ext.services) {
    // Only Services of the ExtensionService's own namespace: a reference
    // elsewhere could subvert the installation.
    const id = pkey(ext.namespace, target.name);
    // The build's own ExternalName setting, so the lookup memo stays right
    // for the HTTPProxies; its "not enabled" error comes after the port checks.
    const r = view.lookupService(ext.namespace, target.name, target.port, config.enableExternalNameService);
    const externalName = r.ok ? r.value.externalName !== '' : rec(view.services.get(ext.namespace, target.name)?.spec)?.type === 'ExternalName' && r.error.includes('ExternalName');
    if (!r.ok && !externalName) {
      cond.addError('ServiceError', 'ServiceUnresolvedReference', `unresolved service "${id}": ${r.error}`);
      continue;
    }
    if (!r.ok || externalName) {
      cond.addError('ServiceError', 'UnsupportedServiceType', `Service "${id}" is of unsupported type "ExternalName".`);
      continue;
    }
    services.push({ service: target.name, port: r.value.port.port, weight: target.weight, endpoints: view.endpointsFor(r.value) });
  }

  const cluster: ExtensionCluster = {
    name: extensionClusterName(ext.namespace, ext.name),
    namespace: ext.namespace,
    extensionService: ext.name,
    protocol,
    services,
    loadBalancer,
    connectTimeoutMs: config.timeouts?.connectTimeoutMs ?? 2000,
    idleConnectionTimeoutMs: t.ok ? timeoutMs(t.idleConnection, DEFAULT_IDLE_CONNECTION_TIMEOUT_MS) : DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
  };
  if (tls) cluster.tls = tls;
  if (t.ok && t.response.kind !== 'default') cluster.responseTimeoutMs = timeoutMs(t.response, null);
  return cluster;
}

/** Every ExtensionService of a snapshot, in namespace/name order; one
 *  object per identity (the first wins). */
export function processExtensionServices(
  list: unknown[],
  view: CacheView,
  config: IsobarConfig,
): { results: ExtensionResult[]; clusters: Map<string, ExtensionCluster> } {
  const seen = new Set<string>();
  const results: ExtensionResult[] = [];
  for (const raw of list) {
    const r = processExtensionService(raw, view, config);
    if (!r) continue;
    const key = pkey(r.namespace, r.name);
    if (seen.has(key)) continue;
    seen.add(key);
    results.push(r);
  }
  results.sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const clusters = new Map<string, ExtensionCluster>();
  for (const r of results) if (r.cluster) clusters.set(r.cluster.name, r.cluster);
  return { results, clusters };
}
