// The balancer model: Services + certificate store contents -> BalancerConfig
// and Service statuses, following the AWS load balancer controller's rules
// (see the project's nlb-semantics notes) with isobar's documented
// differences. Pure: no I/O, no clock, no randomness; never throws on input.

import type { Service, ServicePort, Snapshot } from '../objects/types.ts';
import type { IsobarConfig } from '../config/types.ts';
import type { ServiceListenerStatus, ServiceProblem, ServiceStatus } from '../status/types.ts';
import type {
  BalancerConfig,
  BalancerListener,
  EdgeCertificate,
  HealthCheckConfig,
  LoadBalancer,
  Target,
  TlsPolicy,
} from './balancer-config.ts';
import {
  A,
  NLB_CLASS,
  isCertificateArn,
  parseBool,
  parseInt32,
  parseStringMap,
  parseSuccessCodes,
  splitList,
} from './annotations.ts';
import { ALPN_POLICIES, DEFAULT_POLICY, POLICY_NAMES, lookupPolicy } from './policies.ts';
import { numericTargetPort, readyEndpoints } from './endpoints.ts';
import { loadBalancerHostname, loadBalancerName } from './hostname.ts';

export interface ProxyTargets {
  http: { address: string; port: number };
  https: { address: string; port: number };
}

export interface BalancerModelOptions {
  config: IsobarConfig;
  certificates: EdgeCertificate[];
  /** Where internet-facing listeners bind; default 127.0.0.1. Internal
   *  ones bind loopback whatever this says. */
  lbAddress?: string;
  /** bindPort = Service port + portOffset. */
  portOffset: number;
  /** The last config applied: a Service whose annotations no longer build
   *  keeps its load balancer from here. */
  previous?: BalancerConfig;
  /** Where isobar's own proxy listens (shown in status; the runtime resolves
   *  proxy targets itself). */
  proxyTargets?: ProxyTargets;
  /** Bind every listener on an ephemeral port (bindPort 0), for tests. */
  ephemeralPorts?: boolean;
  /** The current time (ISO 8601 or ms), passed in to keep the model pure:
   *  certificates in use that expire within 30 days get a warning. */
  now?: string | number;
}

const EXPIRY_WARNING_MS = 30 * 86_400_000;

export interface BalancerModelResult {
  balancerConfig: BalancerConfig;
  statuses: ServiceStatus[];
}

export const IDLE_TIMEOUT_MS = 350_000;
const DEFAULT_DEREGISTRATION_DELAY_S = 300;

const KNOWN_TG_ATTRIBUTES = new Set([
  'proxy_protocol_v2.enabled',
  'preserve_client_ip.enabled',
  'deregistration_delay.timeout_seconds',
  'deregistration_delay.connection_termination.enabled',
]);

type Handling =
  | { handled: true; targetType: 'ip' | 'instance' }
  | { handled: false; warning?: { field: string; message: string } };

/** Which Services the balancer takes (controller class, or the type
 *  annotation: nlb, nlb-ip, external + target type). */
export function handling(svc: Service): Handling {
  if (svc.spec?.type !== 'LoadBalancer') return { handled: false };
  const ann = svc.metadata.annotations ?? {};
  const tt = ann[A.targetType];
  const cls = svc.spec.loadBalancerClass;
  if (cls !== undefined && cls !== '') {
    return cls === NLB_CLASS ? { handled: true, targetType: tt === 'ip' ? 'ip' : 'instance' } : { handled: false };
  }
  const t = ann[A.type];
  if (t === 'nlb-ip') return { handled: true, targetType: 'ip' };
  if (t === 'nlb') return { handled: true, targetType: tt === 'ip' ? 'ip' : 'instance' };
  if (t === 'external') {
    if (tt === 'ip' || tt === 'instance') return { handled: true, targetType: tt };
    return {
      handled: false,
      warning: {
        field: A.targetType,
        message: `aws-load-balancer-type is "external" but ${A.targetType} is ${tt === undefined ? 'missing' : `"${tt}"`}; set it to "ip" or "instance" or no load balancer is created`,
      },
    };
  }
  return { handled: false };
}

interface Built {
  lb?: LoadBalancer;
  problems: ServiceProblem[];
  /** Errors: the Service keeps its previous load balancer. */
  blocked: boolean;
}

class Problems {
  readonly list: ServiceProblem[] = [];
  private readonly who: string;
  constructor(svc: Service) {
    this.who = `Service ${svc.metadata.namespace}/${svc.metadata.name}`;
  }
  error(field: string, message: string): void {
    this.list.push({ severity: 'error', field, message: `${this.who}: ${describeField(field)}${message}` });
  }
  warn(field: string, message: string): void {
    this.list.push({ severity: 'warning', field, message: `${this.who}: ${describeField(field)}${message}` });
  }
  /** A warning that still holds back an edit that would change a serving
   *  listener's protocol; a new Service is built without the bad part. */
  warnHoldingEdits(field: string, message: string): void {
    this.warn(field, message);
    this.holdsEdits = true;
  }
  holdsEdits = false;
  get hasErrors(): boolean {
    return this.list.some((p) => p.severity === 'error');
  }
}

function describeField(field: string): string {
  return field.startsWith('spec.') ? `${field}: ` : `annotation ${field}: `;
}

function isIngressService(svc: Service, config: IsobarConfig): boolean {
  return svc.metadata.namespace === config.ingressService.namespace && svc.metadata.name === config.ingressService.name;
}

function proxyTarget(sp: ServicePort, o: BalancerModelOptions): Target | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (tp === 8080 || tp === 'http' || tp === '8080') {
    return { kind: 'proxy-http', address: o.proxyTargets?.http.address ?? '', port: o.proxyTargets?.http.port ?? 0 };
  }
  if (tp === 8443 || tp === 'https' || tp === '8443') {
    return { kind: 'proxy-https', address: o.proxyTargets?.https.address ?? '', port: o.proxyTargets?.https.port ?? 0 };
  }
  return undefined;
}

function targetsFor(snapshot: Snapshot, svc: Service, sp: ServicePort, o: BalancerModelOptions): Target[] {
  if (isIngressService(svc, o.config)) {
    const t = proxyTarget(sp, o);
    return t ? [t] : [];
  }
  return readyEndpoints(snapshot, svc, sp).map((e) => ({ kind: 'endpoint', address: e.address, port: e.port }));
}

function buildService(snapshot: Snapshot, svc: Service, targetType: 'ip' | 'instance', o: BalancerModelOptions, previous?: LoadBalancer): Built {
  const ns = svc.metadata.namespace;
  const name = svc.metadata.name;
  const ann = svc.metadata.annotations ?? {};
  const has = (k: string) => typeof ann[k] === 'string';
  const p = new Problems(svc);
  const ingress = isIngressService(svc, o.config);

  // ---- scheme and name
  let scheme: LoadBalancer['scheme'] = previous?.scheme ?? 'internal';
  if (has(A.scheme)) {
    const v = ann[A.scheme].trim();
    if (v === 'internal' || v === 'internet-facing') scheme = v;
    else p.error(A.scheme, `"${ann[A.scheme]}" is not a scheme (use internal or internet-facing)`);
    if (has(A.internal)) p.warn(A.internal, `ignored: ${A.scheme} takes precedence`);
  } else if (has(A.internal)) {
    const b = parseBool(ann[A.internal]);
    if (b.ok) scheme = b.value ? 'internal' : 'internet-facing';
    else p.error(A.internal, b.message);
  }
  let lbName = loadBalancerName(o.config.aws.clusterName, ns, name, scheme);
  if (has(A.name)) {
    const v = ann[A.name].trim();
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(v)) {
      p.error(A.name, `"${ann[A.name]}" is not a load balancer name (1-32 letters, digits and hyphens, not starting or ending with a hyphen)`);
    } else lbName = v;
  }

  // ---- ports
  const ports = Array.isArray(svc.spec.ports) ? svc.spec.ports : [];
  const tcpPorts: ServicePort[] = [];
  const seen = new Set<number>();
  ports.forEach((sp, i) => {
    if (!sp || !Number.isInteger(sp.port) || sp.port < 1 || sp.port > 65535) {
      p.error(`spec.ports[${i}].port`, `port ${JSON.stringify(sp?.port)} is out of range (1-65535)`);
      return;
    }
    const proto = sp.protocol ?? 'TCP';
    if (proto !== 'TCP') {
      p.warn(`spec.ports[${i}].protocol`, `port ${sp.port} is ${proto}; isobar balances TCP only, so this port has no listener`);
      return;
    }
    if (seen.has(sp.port)) {
      p.error(`spec.ports[${i}].port`, `port ${sp.port} appears twice`);
      return;
    }
    seen.add(sp.port);
    tcpPorts.push(sp);
  });

  // ---- certificates
  const certificates: EdgeCertificate[] = [];
  if (has(A.sslCert)) {
    for (const arn of splitList(ann[A.sslCert])) {
      if (!isCertificateArn(arn)) {
        p.error(A.sslCert, `"${arn}" is not a certificate ARN (expected arn:aws:acm:<region>:<account>:certificate/<id>)`);
        continue;
      }
      const cert = o.certificates.find((c) => c.arn === arn);
      if (!cert) {
        p.error(A.sslCert, `certificate ${arn} is not in the certificate store (add it with \`isobar certs import --arn ${arn} ...\` or \`isobar certs request --arn ${arn} ...\`)`);
        continue;
      }
      if (!certificates.some((c) => c.arn === arn)) certificates.push(cert);
    }
  }
  const certNamed = has(A.sslCert) && splitList(ann[A.sslCert]).length > 0;
  if (o.now !== undefined) {
    const now = new Date(o.now).getTime();
    for (const c of certificates) {
      const end = Date.parse(c.notAfter);
      if (!Number.isFinite(now) || !Number.isFinite(end)) continue;
      if (end <= now) p.warn(A.sslCert, `certificate ${c.arn} expired on ${c.notAfter}; renew it (\`isobar certs renew ${c.arn}\`) or import a new one`);
      else if (end - now <= EXPIRY_WARNING_MS) p.warn(A.sslCert, `certificate ${c.arn} expires on ${c.notAfter}, in ${Math.ceil((end - now) / 86_400_000)} days`);
    }
  }

  // ---- ssl-ports
  let sslAll = true;
  const sslItems = new Set<string>();
  if (has(A.sslPorts)) {
    const items = splitList(ann[A.sslPorts]);
    if (items.length > 0 && !items.includes('*')) {
      sslAll = false;
      for (const it of items) sslItems.add(it);
      const unknown = items.filter((it) => !tcpPorts.some((sp) => sp.name === it || String(sp.port) === it));
      if (unknown.length > 0) {
        const have = tcpPorts.map((sp) => (sp.name ? `${sp.port} (${sp.name})` : String(sp.port))).join(', ') || 'none';
        p.warnHoldingEdits(A.sslPorts, `names ${unknown.map((u) => `"${u}"`).join(', ')}, which the Service does not have (its TCP ports: ${have}); those items are ignored`);
      }
    }
    if (!certNamed) p.warn(A.sslPorts, `has no effect without ${A.sslCert}`);
  }
  const isTls = (sp: ServicePort) => certNamed && (sslAll || sslItems.has(String(sp.port)) || (sp.name !== undefined && sslItems.has(sp.name)));
  const anyTls = tcpPorts.some(isTls);

  // ---- negotiation and ALPN policies
  let policy: TlsPolicy | undefined = lookupPolicy(DEFAULT_POLICY);
  if (has(A.sslPolicy) && ann[A.sslPolicy].trim() !== '') {
    const v = ann[A.sslPolicy].trim();
    policy = lookupPolicy(v);
    if (!policy && anyTls) {
      const near = POLICY_NAMES.find((n) => n.toLowerCase() === v.toLowerCase());
      p.error(A.sslPolicy, `unknown negotiation policy "${v}"${near ? ` (names are case-sensitive: did you mean ${near}?)` : ''}; known policies: ${POLICY_NAMES.join(', ')}`);
    }
  }
  let alpn: string[] | null = null;
  if (has(A.alpnPolicy)) {
    const v = ann[A.alpnPolicy].trim();
    if (Object.hasOwn(ALPN_POLICIES, v)) {
      const list = ALPN_POLICIES[v];
      alpn = list ? [...list] : null;
    } else p.error(A.alpnPolicy, `invalid ALPN policy "${ann[A.alpnPolicy]}" (use ${Object.keys(ALPN_POLICIES).join(', ')})`);
  }

  // ---- backend protocol and re-encryption CA
  let backendSsl = false;
  if (has(A.backendProtocol)) {
    const v = ann[A.backendProtocol];
    if (v === 'ssl') backendSsl = true;
    else if (v !== 'tcp') p.warn(A.backendProtocol, `"${v}" is ignored (only "ssl" changes anything: it re-encrypts to the targets)`);
    if (backendSsl && !anyTls) p.warn(A.backendProtocol, `"ssl" only applies to TLS listeners and this Service has none`);
  }
  let caPem: string | undefined;
  if (has(A.backendCaSecret)) {
    const secretName = ann[A.backendCaSecret].trim();
    const secret = snapshot.secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === secretName);
    if (!secret) p.error(A.backendCaSecret, `Secret ${ns}/${secretName} does not exist`);
    else {
      const ca = secret.data?.['ca.crt'];
      if (typeof ca !== 'string' || !ca.includes('-----BEGIN CERTIFICATE-----')) {
        p.error(A.backendCaSecret, `Secret ${ns}/${secretName} has no PEM certificate under the key ca.crt`);
      } else caPem = ca;
    }
    if (!backendSsl) p.warn(A.backendCaSecret, `has no effect without ${A.backendProtocol}: ssl`);
  }

  // ---- target group attributes (service-wide, then per port)
  const attrsFor = new Map<number, Map<string, string>>();
  let baseAttrs = new Map<string, string>();
  if (has(A.tgAttributes)) {
    const m = parseStringMap(ann[A.tgAttributes]);
    if (m.ok) baseAttrs = m.value;
    else p.error(A.tgAttributes, m.message);
  }
  for (const sp of tcpPorts) {
    const merged = new Map(baseAttrs);
    const key = `${A.tgAttributes}.${sp.port}`;
    if (has(key)) {
      const m = parseStringMap(ann[key]);
      if (!m.ok) p.error(key, m.message);
      else for (const [k, v] of m.value) if (v !== '') merged.set(k, v);
    }
    attrsFor.set(sp.port, merged);
  }
  const unknownKeys = new Set<string>();
  for (const m of attrsFor.values()) for (const k of m.keys()) if (!KNOWN_TG_ATTRIBUTES.has(k)) unknownKeys.add(k);
  if (unknownKeys.size > 0) {
    p.warn(A.tgAttributes, `${[...unknownKeys].sort().join(', ')} not applied by isobar (it applies ${[...KNOWN_TG_ATTRIBUTES].join(', ')})`);
  }
  const attrBool = (port: number, key: string, dflt: boolean): boolean => {
    const v = attrsFor.get(port)?.get(key);
    if (v === undefined) return dflt;
    const b = parseBool(v);
    if (!b.ok) {
      p.error(A.tgAttributes, `${key}: ${b.message}`);
      return dflt;
    }
    return b.value;
  };

  // ---- PROXY protocol v2, by the controller's precedence
  const ppAll = has(A.proxyProtocol);
  if (ppAll && ann[A.proxyProtocol].trim() !== '*') {
    p.error(A.proxyProtocol, `"${ann[A.proxyProtocol]}" is not supported (the only value is "*")`);
  }
  let ppPorts: Set<number> | undefined;
  if (has(A.proxyProtocolPerTg)) {
    if (ppAll) p.warn(A.proxyProtocolPerTg, `ignored: ${A.proxyProtocol} takes precedence`);
    ppPorts = new Set();
    for (const it of splitList(ann[A.proxyProtocolPerTg])) {
      const n = parseInt32(it, 1, 65535);
      if (!n.ok) p.error(A.proxyProtocolPerTg, `item ${n.message} (expected Service port numbers, e.g. "80,443")`);
      else {
        ppPorts.add(n.value);
        if (!tcpPorts.some((sp) => sp.port === n.value)) p.warn(A.proxyProtocolPerTg, `port ${n.value} is not a TCP port of the Service`);
      }
    }
  }
  const ppFor = (port: number): boolean => {
    const attr = attrBool(port, 'proxy_protocol_v2.enabled', false);
    if (ppAll) return true;
    if (ppPorts) return ppPorts.has(port);
    return attr;
  };
  if ((ppAll || ppPorts) && [...attrsFor.values()].some((m) => m.has('proxy_protocol_v2.enabled'))) {
    p.warn(A.tgAttributes, `proxy_protocol_v2.enabled is overridden by ${ppAll ? A.proxyProtocol : A.proxyProtocolPerTg}`);
  }

  // ---- opt-in TLVs
  const tlvs: ('ssl' | 'authority' | 'alpn')[] = [];
  if (has(A.proxyProtocolTlvs)) {
    for (const it of splitList(ann[A.proxyProtocolTlvs])) {
      if (it === 'ssl' || it === 'authority' || it === 'alpn') {
        if (!tlvs.includes(it)) tlvs.push(it);
      } else p.error(A.proxyProtocolTlvs, `unknown TLV "${it}" (use ssl, authority, alpn)`);
    }
  }

  // ---- health check
  const hc = buildHealthCheck(ann, tcpPorts, p);

  // ---- target selection (isobar extension)
  let targetSelection: BalancerListener['targetSelection'] = 'flow-hash';
  if (has(A.targetSelection)) {
    const v = ann[A.targetSelection].trim();
    if (v === 'flow-hash' || v === 'round-robin') targetSelection = v;
    else p.error(A.targetSelection, `"${v}" is not a target selection (use flow-hash or round-robin)`);
  }

  // ---- listeners
  const listeners: BalancerListener[] = [];
  const lbAddress = bindAddressFor(scheme, o.lbAddress ?? '127.0.0.1');
  let anyPp = false;
  for (const sp of [...tcpPorts].sort((a, b) => a.port - b.port)) {
    const bindPort = o.ephemeralPorts ? 0 : sp.port + o.portOffset;
    if (!o.ephemeralPorts && (!Number.isInteger(bindPort) || bindPort < 1 || bindPort > 65535)) {
      p.error(`spec.ports`, `port ${sp.port} plus the port offset ${o.portOffset} is ${bindPort}, outside 1-65535 (choose another --port-offset)`);
      continue;
    }
    const tls = isTls(sp);
    const attrs = attrsFor.get(sp.port) ?? new Map<string, string>();
    let delayS = DEFAULT_DEREGISTRATION_DELAY_S;
    if (attrs.has('deregistration_delay.timeout_seconds')) {
      const n = parseInt32(attrs.get('deregistration_delay.timeout_seconds') ?? '', 0, 3600);
      if (n.ok) delayS = n.value;
      else p.error(A.tgAttributes, `deregistration_delay.timeout_seconds: ${n.message}`);
    }
    const drainTerminate = attrBool(sp.port, 'deregistration_delay.connection_termination.enabled', false);
    const targets = targetsFor(snapshot, svc, sp, o);
    if (ingress && targets.length === 0) {
      p.warn(`spec.ports`, `port ${sp.port} targets ${JSON.stringify(sp.targetPort ?? sp.port)}, which is not isobar's proxy (use targetPort 8080 or "http" for its HTTP listener, 8443 or "https" for its HTTPS listener)`);
    }
    const pp = ppFor(sp.port) || ingress;
    anyPp ||= pp;
    const targetProtocol = tls && backendSsl ? 'TLS' : 'TCP';
    if (ingress && tls && targetProtocol === 'TCP' && targets.some((t) => t.kind === 'proxy-https')) {
      p.warn(`spec.ports`, `port ${sp.port} terminates TLS and sends plain text to the proxy's HTTPS listener; use targetPort "http" (8080) or ${A.backendProtocol}: ssl`);
    }
    let idleTimeoutMs = IDLE_TIMEOUT_MS;
    const laKey = `${A.listenerAttributes}.${tls ? 'TLS' : 'TCP'}-${sp.port}`;
    if (has(laKey)) {
      const m = parseStringMap(ann[laKey]);
      if (!m.ok) p.error(laKey, m.message);
      else {
        for (const [k, v] of m.value) {
          if (k === 'tcp.idle_timeout.seconds') {
            const n = parseInt32(v, 60, 6000);
            if (n.ok) idleTimeoutMs = n.value * 1000;
            else p.error(laKey, `tcp.idle_timeout.seconds: ${n.message}`);
          } else p.warn(laKey, `${k} not applied by isobar (it applies tcp.idle_timeout.seconds)`);
        }
      }
    }
    const listener: BalancerListener = {
      id: `${ns}/${name}:${sp.port}`,
      servicePort: sp.port,
      bindAddress: lbAddress,
      bindPort,
      protocol: tls ? 'TLS' : 'TCP',
      targets,
      targetProtocol,
      proxyProtocol: pp,
      proxyProtocolTlvs: pp ? [...tlvs] : [],
      healthCheck: { ...hc },
      deregistrationDelayMs: delayS * 1000,
      idleTimeoutMs,
      preserveClientIp: attrBool(sp.port, 'preserve_client_ip.enabled', targetType === 'instance'),
      targetSelection,
    };
    if (drainTerminate) listener.drainTerminatesConnections = true;
    if (tls && policy) listener.tls = { certificates: [...certificates], policy, alpn: alpn ? [...alpn] : null };
    if (targetProtocol === 'TLS') listener.targetTls = caPem ? { caPem } : {};
    listeners.push(listener);
  }
  if (tlvs.length > 0 && !anyPp) p.warn(A.proxyProtocolTlvs, `has no effect without PROXY protocol (${A.proxyProtocol}: "*")`);
  if (alpn && !anyTls && has(A.alpnPolicy)) p.warn(A.alpnPolicy, `ignored: the Service has no TLS listener`);

  const lb: LoadBalancer = {
    namespace: ns,
    name,
    hostname: loadBalancerHostname(lbName, o.config.aws.region),
    scheme,
    listeners,
  };
  // An ssl-ports typo must not silently turn a serving TLS port into TCP.
  const flips = previous?.listeners.some((pl) => listeners.some((l) => l.servicePort === pl.servicePort && l.protocol !== pl.protocol)) ?? false;
  return { lb, problems: p.list, blocked: p.hasErrors || (p.holdsEdits && flips) };
}

function buildHealthCheck(ann: Record<string, string>, ports: ServicePort[], p: Problems): HealthCheckConfig {
  const has = (k: string) => typeof ann[k] === 'string';
  let protocol: HealthCheckConfig['protocol'] = 'TCP';
  if (has(A.hcProtocol)) {
    const v = ann[A.hcProtocol].trim().toUpperCase();
    if (v === 'TCP' || v === 'HTTP' || v === 'HTTPS') protocol = v;
    else p.error(A.hcProtocol, `"${ann[A.hcProtocol]}" is not a health check protocol (use TCP, HTTP or HTTPS)`);
  }
  const num = (key: string, dflt: number, min: number, max: number): number => {
    if (!has(key)) return dflt;
    const n = parseInt32(ann[key], min, max);
    if (n.ok) return n.value;
    p.error(key, n.message);
    return dflt;
  };
  const interval = num(A.hcInterval, 10, 5, 300);
  const timeout = num(A.hcTimeout, 10, 2, 120);
  const healthy = num(A.hcHealthy, 3, 2, 10);
  const unhealthy = num(A.hcUnhealthy, 3, 2, 10);
  let path = '/';
  let successCodes = '200-399';
  if (protocol !== 'TCP') {
    if (has(A.hcPath)) {
      const v = ann[A.hcPath].trim();
      if (!v.startsWith('/') || v.length > 1024 || /[\s\x00-\x1f\x7f]/.test(v)) p.error(A.hcPath, `"${ann[A.hcPath]}" is not a path (start with "/", at most 1024 characters, no spaces)`);
      else path = v;
    }
    if (has(A.hcSuccessCodes)) {
      const c = parseSuccessCodes(ann[A.hcSuccessCodes]);
      if (c.ok) successCodes = c.value;
      else p.error(A.hcSuccessCodes, c.message);
    }
  }
  let fixedPort: HealthCheckConfig['port'] = 'traffic-port';
  if (has(A.hcPort)) {
    const v = ann[A.hcPort].trim();
    if (v === 'traffic-port') fixedPort = 'traffic-port';
    else if (/^\d+$/.test(v)) {
      const n = parseInt32(v, 1, 65535);
      if (n.ok) fixedPort = n.value;
      else p.error(A.hcPort, n.message);
    } else {
      const named = ports.find((sp) => sp.name === v);
      const tp = named ? numericTargetPort(named) : undefined;
      if (!named) p.error(A.hcPort, `"${v}" is neither traffic-port, a port number, nor the name of a Service port`);
      else if (tp === undefined) p.error(A.hcPort, `Service port "${v}" has a named targetPort; give the health check port as a number`);
      else fixedPort = tp;
    }
  }
  return {
    protocol,
    port: fixedPort,
    path,
    intervalMs: interval * 1000,
    timeoutMs: timeout * 1000,
    healthyThreshold: healthy,
    unhealthyThreshold: unhealthy,
    successCodes,
  };
}

/** A kept load balancer with targets and certificate contents refreshed
 *  from the current snapshot (targets and renewed certificates keep
 *  flowing while an annotation error blocks the rest). */
function refreshPrevious(snapshot: Snapshot, svc: Service, prev: LoadBalancer, o: BalancerModelOptions): LoadBalancer {
  const lb: LoadBalancer = structuredClone(prev);
  for (const l of lb.listeners) {
    const sp = (svc.spec.ports ?? []).find((x) => x && x.port === l.servicePort && (x.protocol ?? 'TCP') === 'TCP');
    if (sp) l.targets = targetsFor(snapshot, svc, sp, o);
    if (l.tls) l.tls.certificates = l.tls.certificates.map((c) => o.certificates.find((n) => n.arn === c.arn) ?? c);
  }
  return lb;
}

function listenerStatus(l: BalancerListener): ServiceListenerStatus {
  const host = l.bindAddress.includes(':') ? `[${l.bindAddress}]` : l.bindAddress;
  const s: ServiceListenerStatus = {
    port: l.servicePort,
    address: `${host}:${l.bindPort}`,
    protocol: l.protocol,
    certificates: l.tls ? l.tls.certificates.map((c) => c.arn) : [],
    targetProtocol: l.targetProtocol,
    proxyProtocol: l.proxyProtocol,
    targets: l.targets.map((t) => ({
      address: t.address === '' ? t.kind : t.address,
      port: t.port,
      health: 'unknown' as const,
    })),
  };
  if (l.tls) {
    s.policy = l.tls.policy.name;
    s.alpn = l.tls.alpn ? [...l.tls.alpn] : [];
  }
  return s;
}

export function buildBalancerModel(snapshot: Snapshot, o: BalancerModelOptions): BalancerModelResult {
  const services = [...snapshot.services].sort((a, b) => cmp(a.metadata.namespace, b.metadata.namespace) || cmp(a.metadata.name, b.metadata.name));
  const entries: { svc: Service; lb?: LoadBalancer; problems: ServiceProblem[] }[] = [];
  for (const svc of services) {
    let h: Handling;
    try {
      h = handling(svc);
    } catch {
      continue; // not a Service shape the balancer can read at all
    }
    if (!h.handled) {
      if (h.warning) {
        entries.push({
          svc,
          problems: [{ severity: 'warning', field: h.warning.field, message: `Service ${svc.metadata.namespace}/${svc.metadata.name}: annotation ${h.warning.field}: ${h.warning.message}` }],
        });
      }
      continue;
    }
    const prev = o.previous?.loadBalancers.find((l) => l.namespace === svc.metadata.namespace && l.name === svc.metadata.name);
    let built: Built;
    try {
      built = buildService(snapshot, svc, h.targetType, o, prev);
    } catch (err) {
      // Defensive: a shape no validator caught must not take the others down.
      built = {
        problems: [{ severity: 'error', message: `Service ${svc.metadata.namespace}/${svc.metadata.name}: cannot be read (${err instanceof Error ? err.message : String(err)})` }],
        blocked: true,
      };
    }
    if (built.blocked) {
      if (prev) {
        let lb: LoadBalancer;
        try {
          lb = refreshPrevious(snapshot, svc, prev, o);
        } catch {
          lb = structuredClone(prev);
        }
        built.problems.push({
          severity: 'warning',
          message: `Service ${svc.metadata.namespace}/${svc.metadata.name}: kept the last good load balancer (${lb.listeners.map((l) => `${l.protocol}:${l.servicePort}`).join(', ') || 'no listeners'}) until the errors are fixed`,
        });
        entries.push({ svc, lb, problems: built.problems });
      } else {
        entries.push({ svc, problems: built.problems });
      }
    } else entries.push({ svc, lb: built.lb, problems: built.problems });
  }

  // One socket per address:port: the first Service in order keeps it.
  const claimed = new Map<string, string>();
  for (const e of entries) {
    if (!e.lb) continue;
    e.lb.listeners = e.lb.listeners.filter((l) => {
      if (l.bindPort === 0) return true;
      const key = `${l.bindAddress}:${l.bindPort}`;
      const owner = claimed.get(key);
      if (owner !== undefined) {
        e.problems.push({
          severity: 'error',
          field: 'spec.ports',
          message: `Service ${e.svc.metadata.namespace}/${e.svc.metadata.name}: port ${l.servicePort} would listen on ${key}, already used by ${owner}; this listener is not created`,
        });
        return false;
      }
      claimed.set(key, l.id);
      return true;
    });
  }

  const loadBalancers: LoadBalancer[] = [];
  const statuses: ServiceStatus[] = [];
  for (const e of entries) {
    const st: ServiceStatus = {
      namespace: e.svc.metadata.namespace,
      name: e.svc.metadata.name,
      listeners: [],
      ingress: [],
      problems: e.problems,
    };
    if (e.lb) {
      loadBalancers.push(e.lb);
      st.listeners = e.lb.listeners.map(listenerStatus);
      st.ingress = [
        {
          hostname: e.lb.hostname,
          ip: bindAddressFor(e.lb.scheme, o.lbAddress ?? '127.0.0.1'),
          ports: e.lb.listeners.map((l) => ({ port: l.servicePort, protocol: 'TCP' })),
        },
      ];
    }
    statuses.push(st);
  }
  return { balancerConfig: { loadBalancers }, statuses };
}

/** scheme internal: reachable from this host only (loopback); otherwise
 *  the configured load balancer address. */
export function bindAddressFor(scheme: LoadBalancer['scheme'], lbAddress: string): string {
  if (scheme !== 'internal') return lbAddress;
  if (lbAddress === '::1' || lbAddress.startsWith('127.')) return lbAddress;
  return lbAddress.includes(':') ? '::1' : '127.0.0.1';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

