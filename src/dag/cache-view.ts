// Read-only indexes over a Snapshot, with Contour's lookup rules: secret
// delegation, memoised secret validation, Service port resolution and
// endpoints. Built once per build() call.
import type { EndpointSlice, Endpoints, Secret, Service, ServicePort, Snapshot } from '../objects/index.ts';
import type { Endpoint } from './proxy-config.ts';
import { arr, int, rec, str, strArr, strMap } from './safe.ts';
import { sortSmall } from './route-order.ts';
import { checkCaSecret, checkCrlSecret, checkTlsSecret, type Checked } from './secret.ts';
import { annotatedCircuitBreakers } from './service-limits.ts';
import type { CircuitBreakers } from './proxy-config.ts';
import { serviceClientCertificate, type ServiceClientCert } from './upstream-client-cert.ts';

function metaOf(o: unknown): { namespace: string; name: string } | null {
  const m = rec(rec(o)?.metadata);
  if (!m) return null;
  const name = str(m.name);
  if (name === '') return null;
  return { namespace: str(m.namespace) || 'default', name };
}

/** What the processor reads proxies through (an NsMap, or one that also
 *  records the lookup as a dependency). */
export interface Lookup<T> {
  get(ns: string, name: string): T | undefined;
}

/** Dependency keys: what a root's result was computed from. A key names
 *  everything one lookup could have seen, present or absent. */
export const depKey = {
  proxy: (ns: string, name: string) => `p|${ns}|${name}`,
  rejected: (ns: string, name: string) => `r|${ns}|${name}`,
  service: (ns: string, name: string) => `s|${ns}|${name}`,
  secret: (ns: string, name: string) => `x|${ns}|${name}`,
  endpoints: (ns: string, name: string) => `e|${ns}|${name}`,
  /** The EndpointSlices labelled for one Service. */
  slices: (ns: string, service: string) => `l|${ns}|${service}`,
  /** Every TLSCertificateDelegation of one namespace. */
  delegations: (ns: string) => `d|${ns}`,
  /** The extension cluster of one ExtensionService, by cluster name. */
  extension: (clusterName: string) => `n|${clusterName}`,
};

/** Secret checks parse certificates: done once per Secret object, however
 *  many builds see it unchanged. */
const tlsChecks = new WeakMap<Secret, Checked<{ certPem: string; keyPem: string }>>();
const caChecks = new WeakMap<Secret, Checked<string>>();
const crlChecks = new WeakMap<Secret, Checked<string>>();

function checkedOnce<T>(memo: WeakMap<Secret, Checked<T>>, s: Secret | undefined, check: (s: Secret | undefined) => Checked<T>): Checked<T> {
  if (!s) return check(s);
  let r = memo.get(s);
  if (!r) memo.set(s, (r = check(s)));
  return r;
}

/** namespace -> name -> value, so lookups build no key strings. */
export class NsMap<T> {
  #m = new Map<string, Map<string, T>>();

  get(ns: string, name: string): T | undefined {
    return this.#m.get(ns)?.get(name);
  }

  set(ns: string, name: string, v: T): void {
    let inner = this.#m.get(ns);
    if (!inner) this.#m.set(ns, (inner = new Map()));
    inner.set(name, v);
  }

  *values(): IterableIterator<T> {
    for (const inner of this.#m.values()) yield* inner.values();
  }
}

export interface ResolvedService {
  namespace: string;
  name: string;
  port: ServicePort & { port: number };
  externalName: string; // "" unless type ExternalName
  /** Protocol from annotations / appProtocol: "" | "h2" | "h2c" | "tls". */
  protocol: string;
  /** The circuit-breaker thresholds its annotations set (0: not set). */
  circuitBreakers: CircuitBreakers;
  /** Its isobar.dev/upstream-client-certificate annotation. */
  clientCertificate: ServiceClientCert;
}

export type ServiceLookup = { ok: true; value: ResolvedService } | { ok: false; error: string };

export class CacheView {
  readonly services = new NsMap<Service>();
  readonly secrets = new NsMap<Secret>();
  /** secret namespace -> delegations */
  readonly delegations = new Map<string, { secretName: string; targetNamespaces: string[] }[]>();
  readonly endpoints = new NsMap<Endpoints>();
  /** namespace, service name -> slices */
  readonly slices = new NsMap<EndpointSlice[]>();
  #tls = new NsMap<Checked<{ certPem: string; keyPem: string }>>();
  #ca = new NsMap<Checked<string>>();
  #crl = new NsMap<Checked<string>>();
  #protocols = new Map<Service, Map<string, string>>();
  #lookups = new NsMap<Map<number, ServiceLookup>>();
  /** Per Service port, per health port (undefined: none). */
  #endpointsOf = new WeakMap<ResolvedService, Map<ResolvedService | undefined, Endpoint[]>>();
  /** While set, every lookup adds its dependency key here. */
  deps: Set<string> | null = null;

  constructor(snap: Snapshot) {
    for (const s of arr(snap.services)) {
      const m = metaOf(s);
      if (m) this.services.set(m.namespace, m.name, s as Service);
    }
    for (const s of arr(snap.secrets)) {
      const m = metaOf(s);
      if (m) this.secrets.set(m.namespace, m.name, s as Secret);
    }
    for (const d of arr(snap.delegations)) {
      const m = metaOf(d);
      if (!m) continue;
      const list = this.delegations.get(m.namespace) ?? [];
      for (const e of arr(rec(rec(d)?.spec)?.delegations)) {
        const r = rec(e);
        if (r) list.push({ secretName: str(r.secretName), targetNamespaces: strArr(r.targetNamespaces) });
      }
      this.delegations.set(m.namespace, list);
    }
    for (const e of arr(snap.endpoints)) {
      const m = metaOf(e);
      if (m) this.endpoints.set(m.namespace, m.name, e as Endpoints);
    }
    for (const e of arr(snap.endpointSlices)) {
      const m = metaOf(e);
      if (!m) continue;
      const svc = strMap(rec(rec(e)?.metadata)?.labels)['kubernetes.io/service-name'];
      if (!svc) continue;
      const list = this.slices.get(m.namespace, svc);
      if (list) list.push(e as EndpointSlice);
      else this.slices.set(m.namespace, svc, [e as EndpointSlice]);
    }
    // Slices of one Service in a stable order whatever the input order.
    for (const list of this.slices.values()) list.sort((a, b) => (metaOf(a)!.name < metaOf(b)!.name ? -1 : 1));
  }

  /** delegationPermitted: same namespace, or a TLSCertificateDelegation in
   *  the secret's namespace naming it for `targetNs` (or exactly ["*"]). */
  delegationPermitted(secretNs: string, secretName: string, targetNs: string): boolean {
    if (secretNs === targetNs) return true;
    this.deps?.add(depKey.delegations(secretNs));
    for (const d of this.delegations.get(secretNs) ?? []) {
      if (d.secretName !== secretName) continue;
      if (d.targetNamespaces.length === 1 && d.targetNamespaces[0] === '*') return true;
      if (d.targetNamespaces.includes(targetNs)) return true;
    }
    return false;
  }

  tlsSecret(ns: string, name: string) {
    this.deps?.add(depKey.secret(ns, name));
    let r = this.#tls.get(ns, name);
    if (!r) this.#tls.set(ns, name, (r = checkedOnce(tlsChecks, this.secrets.get(ns, name), checkTlsSecret)));
    return r;
  }

  /** A Secret as stored, for readers that check it themselves (a local JWKS). */
  secret(ns: string, name: string): Secret | undefined {
    this.deps?.add(depKey.secret(ns, name));
    return this.secrets.get(ns, name);
  }

  caSecret(ns: string, name: string) {
    this.deps?.add(depKey.secret(ns, name));
    let r = this.#ca.get(ns, name);
    if (!r) this.#ca.set(ns, name, (r = checkedOnce(caChecks, this.secrets.get(ns, name), checkCaSecret)));
    return r;
  }

  crlSecret(ns: string, name: string) {
    this.deps?.add(depKey.secret(ns, name));
    let r = this.#crl.get(ns, name);
    if (!r) this.#crl.set(ns, name, (r = checkedOnce(crlChecks, this.secrets.get(ns, name), checkCrlSecret)));
    return r;
  }

  /** The number of a Service's port with this name (an Ingress backend may
   *  name its port); undefined when the Service or the port is missing. */
  servicePortNumber(ns: string, name: string, portName: string): number | undefined {
    this.deps?.add(depKey.service(ns, name));
    const svc = this.services.get(ns, name);
    for (const p of arr(rec(svc?.spec)?.ports)) {
      const r = rec(p);
      if (r && str(r.name) === portName && int(r.port) > 0) return int(r.port);
    }
    return undefined;
  }

  /** EnsureService: resolve (namespace, name, port) to a Service port. */
  lookupService(ns: string, name: string, port: number, externalNameEnabled: boolean): ServiceLookup {
    // Routes often share a Service port: resolve each once per build (the
    // ExternalName setting is fixed for a build).
    this.deps?.add(depKey.service(ns, name));
    let ports = this.#lookups.get(ns, name);
    if (!ports) this.#lookups.set(ns, name, (ports = new Map()));
    let r = ports.get(port);
    if (!r) ports.set(port, (r = this.#lookupService(ns, name, port, externalNameEnabled)));
    return r;
  }

  #lookupService(ns: string, name: string, port: number, externalNameEnabled: boolean): ServiceLookup {
    const svc = this.services.get(ns, name);
    if (!svc) return { ok: false, error: `service "${ns}/${name}" not found` };
    const spec = rec(svc.spec) ?? {};
    let match: (ServicePort & { port: number }) | null = null;
    for (const p of arr(spec.ports)) {
      const r = rec(p);
      if (!r) continue;
      if (int(r.port) === port || (str(r.name) !== '' && str(r.name) === String(port))) {
        match = { port: int(r.port), name: str(r.name), protocol: str(r.protocol), appProtocol: str(r.appProtocol) };
        if (typeof r.targetPort === 'number' || typeof r.targetPort === 'string') match.targetPort = r.targetPort;
        break;
      }
    }
    if (!match) return { ok: false, error: `port "${port}" on service "${ns}/${name}" not matched` };
    const proto = str(match.protocol);
    if (proto !== '' && proto !== 'TCP') return { ok: false, error: `unsupported service protocol "${proto}"` };
    const externalName = str(spec.type) === 'ExternalName' ? str(spec.externalName) : '';
    if (str(spec.type) === 'ExternalName' && !externalNameEnabled) {
      return {
        ok: false,
        error: `${ns}/${name} is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting`,
      };
    }
    return {
      ok: true,
      value: {
        namespace: ns,
        name,
        port: match,
        externalName,
        protocol: this.#protocolFor(svc, match),
        circuitBreakers: annotatedCircuitBreakers(svc),
        clientCertificate: serviceClientCertificate(svc),
      },
    };
  }

  /** Upstream protocol from appProtocol, else the upstream-protocol annotations. */
  #protocolFor(svc: Service, port: ServicePort & { port: number }): string {
    if (typeof port.appProtocol === 'string' && port.appProtocol !== '') {
      switch (port.appProtocol) {
        case 'kubernetes.io/h2c':
          return 'h2c';
        case 'https':
          return 'tls';
        default:
          return '';
      }
    }
    let map = this.#protocols.get(svc);
    if (!map) {
      map = new Map();
      const ann = strMap(rec(svc.metadata)?.annotations);
      // Folded in this order, so a key listed twice takes the later protocol.
      for (const proto of ['h2', 'h2c', 'tls']) {
        const v = ann[`projectcontour.io/upstream-protocol.${proto}`];
        if (v === undefined) continue;
        for (const entry of v.split(',')) {
          const e = entry.trim();
          if (e !== '') map.set(e, proto);
        }
      }
      this.#protocols.set(svc, map);
    }
    const name = str(port.name);
    return (name !== '' ? map.get(name) : undefined) ?? map.get(String(port.port)) ?? '';
  }

  /** Ready endpoints for a resolved Service port, sorted and de-duplicated;
   *  with `health` (another port of the same Service, a healthPort), each
   *  carries that port's endpoint port as its healthPort, as Contour sets
   *  the health check port of the endpoints (ExternalName: the Service port). */
  endpointsFor(s: ResolvedService, health?: ResolvedService): Endpoint[] {
    if (s.externalName !== '') {
      const e: Endpoint = { address: s.externalName, port: s.port.port };
      if (health && health.port.port !== s.port.port) e.healthPort = health.port.port;
      return [e];
    }
    if (this.deps) {
      this.deps.add(depKey.endpoints(s.namespace, s.name));
      this.deps.add(depKey.slices(s.namespace, s.name));
    }
    let memo = this.#endpointsOf.get(s);
    if (!memo) this.#endpointsOf.set(s, (memo = new Map()));
    const cached = memo.get(health);
    if (cached) return cached;
    const list: Endpoint[] = [];
    const ep = this.endpoints.get(s.namespace, s.name);
    for (const subset of arr(ep?.subsets)) {
      const r = rec(subset);
      if (!r) continue;
      const ports = arr(r.ports);
      const port = this.#endpointPort(s, ports);
      if (port < 1 || port > 65535) continue;
      const hp = health ? this.#endpointPort(health, ports) : 0;
      for (const a of arr(r.addresses)) addEndpoint(list, str(rec(a)?.ip), port, hp);
    }
    for (const slice of this.slices.get(s.namespace, s.name) ?? []) {
      const r = rec(slice) ?? {};
      if (str(r.addressType) === 'FQDN') continue;
      const ports = arr(r.ports);
      const port = this.#endpointPort(s, ports);
      if (port < 1 || port > 65535) continue;
      const hp = health ? this.#endpointPort(health, ports) : 0;
      for (const e of arr(r.endpoints)) {
        const er = rec(e);
        // A nil ready condition means ready (discovery.k8s.io/v1).
        if (!er || rec(er.conditions)?.ready === false) continue;
        for (const a of arr(er.addresses)) addEndpoint(list, str(a), port, hp);
      }
    }
    sortSmall(list, byAddress);
    // The same address may come from Endpoints and a slice: keep one.
    for (let i = list.length - 1; i > 0; i--) {
      if (list[i]!.address === list[i - 1]!.address && list[i]!.port === list[i - 1]!.port) list.splice(i, 1);
    }
    memo.set(health, list);
    return list;
  }

  /** The endpoint port for a Service port: by port name, the only port,
   *  the numeric targetPort, or a named targetPort. 0 when none fits. */
  #endpointPort(s: ResolvedService, ports: unknown[]): number {
    const portName = str(s.port.name);
    const target = s.port.targetPort;
    if (ports.length === 0) return typeof target === 'number' ? target : s.port.port;
    let byTarget = 0;
    for (const p of ports) {
      const r = rec(p);
      if (!r) continue;
      const name = str(r.name);
      if (portName !== '' && name === portName) return int(r.port);
      if (ports.length === 1 && (portName === '' || name === '')) return int(r.port);
      if (byTarget === 0 && ((typeof target === 'number' && int(r.port) === target) || (typeof target === 'string' && target !== '' && name === target))) {
        byTarget = int(r.port);
      }
    }
    return byTarget;
  }
}

function byAddress(a: Endpoint, b: Endpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

/** `healthPort` 0, out of range or equal to `port`: probe the traffic port. */
function addEndpoint(list: Endpoint[], address: string, port: number, healthPort: number): void {
  if (address === '') return;
  if (healthPort > 0 && healthPort <= 65535 && healthPort !== port) list.push({ address, port, healthPort });
  else list.push({ address, port });
}
