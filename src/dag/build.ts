// build(): Snapshot + IsobarConfig -> ProxyConfig + HTTPProxy statuses.
// Pure and deterministic: every index is keyed, every output sorted, and
// roots are processed in namespace/name order.
//
// Each root is computed on its own (its own Output and conditions) and the
// results are merged, so a DagBuilder can keep a root's result while
// nothing it read has changed: a reload at 10,000 HTTPProxies recomputes
// the roots an edit touched, not all of them. `build()` is one fresh
// builder, so both paths are the same code.
import type { IsobarConfig } from '../config/index.ts';
import { byNamespaceName, type Service, type Snapshot } from '../objects/index.ts';
import type { GatewayClassStatus, GatewayStatus, HTTPProxyStatus, IngressStatus, PolicyStatus, RouteStatus } from '../status/index.ts';
import type { CaBundle, Cluster, ProxyConfig, SecureVirtualHost, TlsSecret, VirtualHost } from './proxy-config.ts';
import type { NProxy } from './model.ts';
import { CacheView, NsMap, depKey, type Lookup } from './cache-view.ts';
import { HTTPProxyProcessor } from './httpproxy-processor.ts';
import { Output } from './output.ts';
import { readProxy } from './read.ts';
import { processExtensionServices, type ExtensionCluster, type ExtensionResult, type ExtensionServiceStatus } from './extension-processor.ts';
import { processGatewayApi } from './gateway-processor.ts';
import { mergeProxyConfigs } from './merge-config.ts';
import { pkey } from './refs.ts';
import { IngressProcessor, type IngressResult } from './ingress-processor.ts';
import { readIngress, type NIngress } from './ingress-read.ts';
import { classIsOurs, configuredClasses, indexClasses, ingressClassOf } from './ingress-class.ts';
import { IngressMerger } from './ingress-merge.ts';
import { arr, rec, str, strMap } from './safe.ts';
import { Condition, toStatus, ORPHANED_MESSAGE, type StatusEntry } from './status.ts';

interface RejectedProxy {
  namespace: string;
  name: string;
  errors: { path: string; message: string }[];
}

export interface DagResult {
  proxyConfig: ProxyConfig;
  statuses: HTTPProxyStatus[];
  /** Every ExtensionService's status, sorted by namespace then name. */
  extensionServices: ExtensionServiceStatus[];
  /** Gateway API statuses; absent when the snapshot holds no Gateway API object. */
  gatewayApi?: {
    gatewayclasses: GatewayClassStatus[];
    gateways: GatewayStatus[];
    httproutes: RouteStatus[];
    grpcroutes: RouteStatus[];
    tlsroutes: RouteStatus[];
    tcproutes: RouteStatus[];
    backendtlspolicies: PolicyStatus[];
  };
  /** Load balancer Services that Gateways ask for: the balancer serves them
   *  as Services in front of isobar's proxy. */
  gatewayLoadBalancers?: Service[];
  /** Every Ingress's status, sorted by namespace then name; loadBalancer
   *  is empty here (the edge fills it from the ingress Service). */
  ingresses: IngressStatus[];
}

/** One Ingress's result, and what it was computed from. */
interface IngressEntry {
  result: IngressResult;
  deps: Set<string>;
}

/** What one root contributed, and what it was computed from. */
interface RootResult {
  root: NProxy;
  /** Dependency keys (cache-view.ts depKey) of every lookup made. */
  deps: Set<string>;
  http: VirtualHost | undefined;
  https: SecureVirtualHost | undefined;
  clusters: Cluster[];
  secrets: TlsSecret[];
  caBundles: CaBundle[];
  fallbackCertificateId: string | undefined;
  /** Conditions recorded on each proxy of the tree, in first-touch order. */
  conditions: { proxy: NProxy; cond: Condition }[];
  fqdn: string | undefined;
  /** Non-roots an include reached. */
  reached: NProxy[];
}



const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byFqdn = (a: { fqdn: string }, b: { fqdn: string }): number => byString(a.fqdn, b.fqdn);

/** Ingress class matching: a configured class (or one of a comma-separated
 *  list) must match exactly; without one, proxies with no class or class
 *  "contour" are ours. */
function classMatches(p: NProxy, configured: string | undefined): boolean {
  if (configured) return configuredClasses(configured).includes(p.ingressClass);
  return p.ingressClass === '' || p.ingressClass === 'contour';
}

function metaOf(o: unknown): { namespace: string; name: string } | null {
  const m = rec(rec(o)?.metadata);
  const name = str(m?.name);
  return name === '' ? null : { namespace: str(m?.namespace) || 'default', name };
}

/** The dependency key an object of the snapshot answers to. */
function depKeyOf(kind: keyof Snapshot, o: unknown): string | null {
  if (kind === 'rejected') {
    const r = rec(o);
    if (!r || str(r.kind) !== 'HTTPProxy' || str(r.name) === '') return null;
    return depKey.rejected(str(r.namespace) || 'default', str(r.name));
  }
  const m = metaOf(o);
  if (!m) return null;
  switch (kind) {
    case 'httpproxies':
      return depKey.proxy(m.namespace, m.name);
    case 'services':
      return depKey.service(m.namespace, m.name);
    case 'secrets':
      return depKey.secret(m.namespace, m.name);
    case 'endpoints':
      return depKey.endpoints(m.namespace, m.name);
    case 'endpointSlices': {
      const svc = strMap(rec(rec(o)?.metadata)?.labels)['kubernetes.io/service-name'];
      return svc ? depKey.slices(m.namespace, svc) : null;
    }
    case 'delegations':
      return depKey.delegations(m.namespace);
    case 'extensionServices':
      // Roots depend on the extension cluster built from it (compared per build).
      return null;
    case 'gatewayClasses':
    case 'gateways':
    case 'httpRoutes':
    case 'referenceGrants':
    case 'namespaces':
    case 'backendTLSPolicies':
    case 'configMaps':
    case 'grpcRoutes':
    case 'tlsRoutes':
    case 'tcpRoutes':
      // The Gateway API processor runs whole on every build: no root reads them.
    case 'ingresses':
    case 'ingressClasses':
      // Read afresh each build: an Ingress's result is kept by object identity.
      return null;
  }
}

function keysOf(kind: keyof Snapshot, list: unknown[]): Map<object, string> {
  const keys = new Map<object, string>();
  for (const o of list) {
    if (typeof o !== 'object' || o === null) continue;
    const k = depKeyOf(kind, o);
    if (k !== null) keys.set(o, k);
  }
  return keys;
}

const KINDS: (keyof Snapshot)[] = ['httpproxies', 'delegations', 'services', 'secrets', 'endpoints', 'endpointSlices', 'rejected'];

/** A lookup that records what it was asked for. */
function recording<T>(map: NsMap<T>, key: (ns: string, name: string) => string, track: { deps: Set<string> }): Lookup<T> {
  return {
    get(ns, name) {
      track.deps.add(key(ns, name));
      return map.get(ns, name);
    },
  };
}

export function build(snapshot: Snapshot, config: IsobarConfig): DagResult {
  return new DagBuilder({ oneShot: true }).build(snapshot, config);
}

/** Builds one snapshot after another, recomputing only the roots whose
 *  inputs changed. Snapshot objects must be immutable (the object cache
 *  shares them and replaces, never edits, a changed object). */
export class DagBuilder {
  #config: IsobarConfig | undefined;
  /** Per kind, the last build's list and each object's dependency key. */
  #seen = new Map<keyof Snapshot, { list: unknown[]; keys?: Map<object, string> }>();
  #view: CacheView | undefined;
  /** Results of the roots of the last build. */
  #roots = new Map<NProxy, RootResult>();
  /** readProxy results of the last build, by raw object (a Map remade
   *  each build: no weak references for the collector to trace). */
  #read = new Map<unknown, NProxy | null>();
  /** Each served Ingress's result of the last build, by raw object. */
  #ingresses = new Map<unknown, IngressEntry>();
  /** readIngress results of the last build, by raw object. */
  #readIngresses = new Map<unknown, NIngress | null>();
  /** The last merge of Ingress and HTTPProxy virtual hosts. */
  readonly #merger = new IngressMerger();
  /** Ingresses the last build computed afresh. */
  ingressesRecomputed = 0;
  /** Each extension cluster of the last build, as JSON, by name. */
  #extensions = new Map<string, string>();
  /** Roots the last build computed afresh (the rest were reused). */
  recomputed = 0;
  /** Whether to record dependencies (not for a builder used once). */
  readonly #track: boolean;

  constructor(opts: { oneShot?: boolean } = {}) {
    this.#track = !opts.oneShot;
  }

  build(snapshot: Snapshot, config: IsobarConfig): DagResult {
    const snap: Snapshot = {
      httpproxies: arr(snapshot?.httpproxies) as Snapshot['httpproxies'],
      delegations: arr(snapshot?.delegations) as Snapshot['delegations'],
      services: arr(snapshot?.services) as Snapshot['services'],
      secrets: arr(snapshot?.secrets) as Snapshot['secrets'],
      endpoints: arr(snapshot?.endpoints) as Snapshot['endpoints'],
      endpointSlices: arr(snapshot?.endpointSlices) as Snapshot['endpointSlices'],
      extensionServices: arr(snapshot?.extensionServices) as NonNullable<Snapshot['extensionServices']>,
      gatewayClasses: arr(snapshot?.gatewayClasses) as NonNullable<Snapshot['gatewayClasses']>,
      gateways: arr(snapshot?.gateways) as NonNullable<Snapshot['gateways']>,
      httpRoutes: arr(snapshot?.httpRoutes) as NonNullable<Snapshot['httpRoutes']>,
      referenceGrants: arr(snapshot?.referenceGrants) as NonNullable<Snapshot['referenceGrants']>,
      namespaces: arr(snapshot?.namespaces) as NonNullable<Snapshot['namespaces']>,
      ingresses: arr(snapshot?.ingresses) as NonNullable<Snapshot['ingresses']>,
      ingressClasses: arr(snapshot?.ingressClasses) as NonNullable<Snapshot['ingressClasses']>,
      backendTLSPolicies: arr(snapshot?.backendTLSPolicies) as NonNullable<Snapshot['backendTLSPolicies']>,
      configMaps: arr(snapshot?.configMaps) as NonNullable<Snapshot['configMaps']>,
      grpcRoutes: arr(snapshot?.grpcRoutes) as NonNullable<Snapshot['grpcRoutes']>,
      tlsRoutes: arr(snapshot?.tlsRoutes) as NonNullable<Snapshot['tlsRoutes']>,
      tcpRoutes: arr(snapshot?.tcpRoutes) as NonNullable<Snapshot['tcpRoutes']>,
      rejected: arr(snapshot?.rejected) as Snapshot['rejected'],
    };
    if (config !== this.#config) {
      this.#config = config;
      this.#roots.clear();
      this.#ingresses.clear();
      this.#view = undefined; // its memos depend on settings (ExternalName)
    }
    const { changed, viewChanged } = this.#changedKeys(snap);
    // The view's indexes and memos stay valid while what it indexes does.
    const view = viewChanged || !this.#view ? new CacheView(snap) : this.#view;
    this.#view = view;
    // ExtensionServices first: authorization on the roots names their clusters.
    const ext = processExtensionServices(snap.extensionServices!, view, config);
    this.#extensionChanges(ext.clusters, changed);

    const proxies = new NsMap<NProxy>();
    const proxyList: NProxy[] = [];
    const read = new Map<unknown, NProxy | null>();
    for (const raw of snap.httpproxies) {
      let p = this.#read.get(raw);
      if (p === undefined) p = readProxy(raw);
      read.set(raw, p);
      if (!p || !classMatches(p, config.ingressClassName)) continue;
      if (proxies.get(p.namespace, p.name) !== undefined) continue; // one object per identity
      proxies.set(p.namespace, p.name, p);
      proxyList.push(p);
    }
    this.#read = read;
    const rejected = new NsMap<RejectedProxy>();
    const rejectedList: RejectedProxy[] = [];
    for (const raw of snap.rejected) {
      const r = rec(raw);
      if (!r || str(r.kind) !== 'HTTPProxy' || str(r.name) === '') continue;
      const namespace = str(r.namespace) || 'default';
      const name = str(r.name);
      if (proxies.get(namespace, name) !== undefined || rejected.get(namespace, name) !== undefined) continue;
      const rp = { namespace, name, errors: arr(r.errors).map((e) => ({ path: str(rec(e)?.path), message: str(rec(e)?.message) })) };
      rejected.set(namespace, name, rp);
      rejectedList.push(rp);
    }

    // One status entry per normalised proxy, in namespace/name order.
    const sorted = proxyList.sort(byNamespaceName);
    const entries = new Map<NProxy, StatusEntry>();
    for (const p of sorted) {
      const e: StatusEntry = { namespace: p.namespace, name: p.name, generation: p.generation, fqdn: '', cond: new Condition() };
      if (p.virtualhost?.tls && p.virtualhost.tls.secretName !== '') e.tlsSecret = p.virtualhost.tls.secretName;
      entries.set(p, e);
    }

    // (i) roots grouped by lower-cased fqdn; duplicates are never processed.
    const byFqdnMap = new Map<string, NProxy>();
    const duplicates = new Map<string, NProxy[]>();
    const nonRoots: NProxy[] = [];
    for (const p of sorted) {
      if (!p.virtualhost) {
        nonRoots.push(p); // (ii) an orphan until an include reaches it
        continue;
      }
      const f = p.virtualhost.fqdnKey;
      const first = byFqdnMap.get(f);
      if (!first) byFqdnMap.set(f, p);
      else {
        const list = duplicates.get(f);
        if (list) list.push(p);
        else duplicates.set(f, [first, p]);
      }
    }
    for (const [fqdn, list] of duplicates) {
      const names = list.map((p) => pkey(p.namespace, p.name)).sort();
      const msg = `fqdn "${fqdn}" is used in multiple HTTPProxies: ${names.join(', ')}`;
      for (const p of list) {
        const e = entries.get(p)!;
        e.fqdn = fqdn;
        e.cond.addError('VirtualHostError', 'DuplicateVhost', msg);
      }
    }

    // (iii) roots in namespace/name order (groups were created in that
    // order), each computed afresh unless nothing it read has changed.
    const results = new Map<NProxy, RootResult>();
    this.recomputed = 0;
    // One processor for the roots computed; its proxy lookups record into
    // the dependencies of the root being computed.
    const track = { deps: new Set<string>() };
    const newProcessor = (): HTTPProxyProcessor =>
      this.#track
        ? new HTTPProxyProcessor(view, config, recording(proxies, depKey.proxy, track), recording(rejected, depKey.rejected, track), (name) => {
            track.deps.add(depKey.extension(name));
            return ext.clusters.get(name);
          })
        : new HTTPProxyProcessor(view, config, proxies, rejected, (name) => ext.clusters.get(name));
    let processor: HTTPProxyProcessor | undefined;
    for (const [fqdn, root] of byFqdnMap) {
      if (duplicates.has(fqdn)) continue;
      // The same NProxy means the same raw object (readProxy is memoised).
      let r = this.#roots.get(root);
      if (!r || dependsOn(r, changed)) {
        r = this.#compute(root, (processor ??= newProcessor()), view, track);
        this.recomputed++;
      }
      results.set(root, r);
    }
    // Only results of this build are kept: a root skipped now (say, a
    // duplicate) has missed changes and is computed again when it returns.
    this.#roots = results;

    const ingresses = this.#buildIngresses(snap, config, view, changed);
    const { shared, ...out } = assemble(results, entries, nonRoots, rejectedList, ext.results, snap.rejected, ingresses.served, this.#merger);
    const result: DagResult = { ...out, ingresses: ingressStatuses(ingresses, shared, snap.rejected) };
    // The Gateway API processor beside the HTTPProxy one, into the same config.
    const gw = processGatewayApi(snap, view, config, result.proxyConfig.httpsVirtualHosts);
    if (!gw.present) return result;
    result.proxyConfig = mergeProxyConfigs(result.proxyConfig, gw.proxyConfig);
    result.gatewayApi = {
      gatewayclasses: gw.gatewayClasses,
      gateways: gw.gateways,
      httproutes: gw.httpRoutes,
      grpcroutes: gw.grpcRoutes,
      tlsroutes: gw.tlsRoutes,
      tcproutes: gw.tcpRoutes,
      backendtlspolicies: gw.backendTLSPolicies,
    };
    if (gw.loadBalancers.length > 0) result.gatewayLoadBalancers = gw.loadBalancers;
    return result;
  }

  /** Every Ingress: whether it is isobar's, and the result of each that is
   *  (kept while nothing it read has changed). */
  #buildIngresses(snap: Snapshot, config: IsobarConfig, view: CacheView, changed: Set<string>): IngressRun {
    const classes = indexClasses(snap.ingressClasses ?? []);
    const read = new Map<unknown, NIngress | null>();
    const next = new Map<unknown, IngressEntry>();
    const run: IngressRun = { all: [], served: [] };
    const seen = new Set<string>();
    let processor: IngressProcessor | undefined;
    this.ingressesRecomputed = 0;
    const cc = config.tls?.envoyClientCertificate;
    // In namespace/name order whatever order the caller used: where two
    // Ingresses set the same thing, the later one wins.
    const list: { raw: unknown; n: NIngress }[] = [];
    for (const raw of snap.ingresses ?? []) {
      let n = this.#readIngresses.get(raw);
      if (n === undefined) n = readIngress(raw);
      read.set(raw, n);
      if (n) list.push({ raw, n });
    }
    list.sort((a, b) => byNamespaceName(a.n, b.n));
    for (const { raw, n } of list) {
      if (seen.has(pkey(n.namespace, n.name))) continue; // one object per identity
      seen.add(pkey(n.namespace, n.name));
      const className = ingressClassOf(raw);
      const served = classIsOurs(className, config.ingressClassName, classes);
      let entry: IngressEntry | undefined;
      if (served) {
        entry = this.#ingresses.get(raw);
        if (!entry || (changed.size > 0 && [...entry.deps].some((d) => changed.has(d)))) {
          const deps = new Set<string>();
          if (cc) deps.add(depKey.secret(cc.namespace, cc.name));
          processor ??= new IngressProcessor(view, config);
          if (this.#track) view.deps = deps;
          try {
            entry = { result: computeIngress(processor, n), deps };
          } finally {
            view.deps = null;
          }
          this.ingressesRecomputed++;
        }
        next.set(raw, entry);
        run.served.push(entry.result);
      }
      run.all.push({ ingress: n, className, served, result: entry?.result });
    }
    this.#readIngresses = read;
    this.#ingresses = next;
    return run;
  }

  /** Marks the extension clusters that appeared, went or changed. */
  #extensionChanges(clusters: Map<string, ExtensionCluster>, changed: Set<string>): void {
    const next = new Map<string, string>();
    for (const [name, c] of clusters) {
      const json = JSON.stringify(c);
      next.set(name, json);
      if (this.#extensions.get(name) !== json) changed.add(depKey.extension(name));
    }
    for (const name of this.#extensions.keys()) if (!next.has(name)) changed.add(depKey.extension(name));
    this.#extensions = next;
  }

  /** Keys whose object was added, replaced or removed since the last
   *  build, and whether anything the CacheView indexes changed. */
  #changedKeys(snap: Snapshot): { changed: Set<string>; viewChanged: boolean } {
    const changed = new Set<string>();
    let viewChanged = false;
    for (const kind of KINDS) {
      const list = snap[kind] as unknown[];
      const prev = this.#seen.get(kind);
      if (!prev) {
        // First build: every root is computed; keys are made only if a
        // later build has to find what changed (a one-shot build never).
        this.#seen.set(kind, { list: list.slice() }); // a copy: the caller may reuse its array
        viewChanged = true;
        continue;
      }
      // The cache hands out the same objects in the same order while a
      // kind is untouched: a reference walk proves that without hashing.
      if (prev.list.length === list.length && list.every((o, i) => o === prev.list[i])) continue;
      if (kind !== 'httpproxies' && kind !== 'rejected') viewChanged = true;
      const prevKeys = prev.keys ?? keysOf(kind, prev.list);
      const next = new Map<object, string>();
      let kept = 0;
      for (const o of list) {
        if (typeof o !== 'object' || o === null) continue;
        let key = prevKeys.get(o);
        if (key !== undefined) kept++;
        else {
          const k = depKeyOf(kind, o);
          if (k === null) continue;
          key = k;
          changed.add(key);
        }
        next.set(o, key);
      }
      if (kept < prevKeys.size) for (const [o, key] of prevKeys) if (!next.has(o)) changed.add(key);
      this.#seen.set(kind, { list: list.slice(), keys: next });
    }
    return { changed, viewChanged };
  }

  #compute(root: NProxy, processor: HTTPProxyProcessor, view: CacheView, track: { deps: Set<string> }): RootResult {
    const deps = new Set<string>();
    const out = new Output();
    const conds = new Map<NProxy, Condition>();
    const condOf = (p: NProxy): Condition => {
      let c = conds.get(p);
      if (!c) conds.set(p, (c = new Condition()));
      return c;
    };
    let fqdn: string | undefined;
    if (this.#track) {
      deps.add(depKey.proxy(root.namespace, root.name));
      view.deps = track.deps = deps;
    }
    try {
      processor.use(out, {
        cond: condOf,
        setFqdn: (p, f) => {
          if (p === root) fqdn = f;
        },
      });
      processor.computeHTTPProxy(root);
    } catch (err) {
      // A defect must cost one HTTPProxy, never the whole configuration.
      condOf(root).addError(
        'SpecError',
        'InternalError',
        `isobar could not process this HTTPProxy: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      view.deps = null;
    }
    // The Output emits only what this root's surviving virtual hosts reach
    // (as Contour's DAG walk does): the merge is then a plain union.
    const c = out.finish();
    return {
      root,
      deps,
      http: c.httpVirtualHosts[0],
      https: c.httpsVirtualHosts[0],
      clusters: c.clusters,
      secrets: c.secrets,
      caBundles: c.caBundles,
      fallbackCertificateId: c.fallbackCertificateId,
      conditions: [...conds].map(([proxy, cond]) => ({ proxy, cond })),
      fqdn,
      reached: [...processor.reached],
    };
  }
}

interface IngressRun {
  all: { ingress: NIngress; className: string; served: boolean; result: IngressResult | undefined }[];
  served: IngressResult[];
}

/** One Ingress; a defect costs that Ingress, never the configuration. */
function computeIngress(processor: IngressProcessor, n: NIngress): IngressResult {
  try {
    return processor.compute(n);
  } catch (err) {
    return {
      tls: [],
      routes: [],
      clusters: [],
      secrets: [],
      problems: [{ severity: 'error', message: `isobar could not process this Ingress: ${err instanceof Error ? err.message : String(err)}` }],
    };
  }
}

function ingressStatuses(run: IngressRun, shared: Map<IngressResult, { host: string; proxy: string }[]>, rejected: Snapshot['rejected']): IngressStatus[] {
  const out: IngressStatus[] = [];
  const seen = new Set<string>();
  for (const { ingress: n, className, served, result } of run.all) {
    seen.add(pkey(n.namespace, n.name));
    const hosts = [...new Set(n.rules.map((r) => (r.host === '' ? '*' : r.host)))];
    const problems = result ? [...result.problems] : [];
    if (!served) {
      problems.push({
        severity: 'warning',
        message:
          className === ''
            ? 'not served: it names no class and a class is configured (ingress-class-name), or the default IngressClass is not isobar\'s'
            : `not served: class "${className}" is not isobar's (isobar serves its configured ingress-class-name, else no class or "contour", and IngressClasses whose controller is projectcontour.io/ingress-controller)`,
      });
    }
    for (const { host, proxy } of (result && shared.get(result)) ?? []) {
      problems.push({
        severity: 'warning',
        field: 'spec.rules',
        message: `host "${host}" is also the fqdn of HTTPProxy ${proxy}: one virtual host serves the routes of both (the HTTPProxy's where both match the same requests) with the HTTPProxy's TLS and virtual host settings`,
      });
    }
    out.push({
      namespace: n.namespace,
      name: n.name,
      className,
      served,
      hosts,
      ports: n.tls.length > 0 ? [80, 443] : [80],
      loadBalancer: { ingress: [] },
      problems,
    });
  }
  let added = false;
  for (const { namespace, name, errors } of rejectedOfKind(rejected, 'Ingress', seen)) {
    out.push({
      namespace,
      name,
      className: '',
      served: false,
      hosts: [],
      ports: [],
      loadBalancer: { ingress: [] },
      problems: errors.map((e) => ({
        severity: 'error' as const,
        ...(e.path !== '' ? { field: e.path } : {}),
        message: `${e.message} (the API server would refuse this Ingress; isobar serves none of it)`,
      })),
    });
    added = true;
  }
  if (added) out.sort(byNamespaceName);
  return out;
}

function dependsOn(r: RootResult, changed: Set<string>): boolean {
  if (changed.size === 0) return false;
  for (const d of r.deps) if (changed.has(d)) return true;
  return false;
}

/** The union of the roots' results, and every proxy's status. */
function assemble(
  results: Map<NProxy, RootResult>,
  entries: Map<NProxy, StatusEntry>,
  nonRoots: NProxy[],
  rejectedList: RejectedProxy[],
  extensions: ExtensionResult[],
  rejectedObjects: Snapshot['rejected'],
  ingresses: IngressResult[],
  merger: IngressMerger,
): Omit<DagResult, 'ingresses'> & { shared: Map<IngressResult, { host: string; proxy: string }[]> } {
  const httpVirtualHosts: VirtualHost[] = [];
  const httpsVirtualHosts: SecureVirtualHost[] = [];
  const clusters = new Map<string, Cluster>();
  const secrets = new Map<string, TlsSecret>();
  const caBundles = new Map<string, CaBundle>();
  let fallbackCertificateId: string | undefined;
  const reached = new Set<NProxy>();
  for (const r of results.values()) {
    if (r.http) httpVirtualHosts.push(r.http);
    if (r.https) httpsVirtualHosts.push(r.https);
    // Same name, same content: a cluster's name is derived from all of it.
    for (const c of r.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const s of r.secrets) if (!secrets.has(s.id)) secrets.set(s.id, s);
    for (const b of r.caBundles) if (!caBundles.has(b.id)) caBundles.set(b.id, b);
    fallbackCertificateId ??= r.fallbackCertificateId;
    for (const { proxy, cond } of r.conditions) {
      const e = entries.get(proxy);
      if (!e) continue;
      e.cond.errors.push(...cond.errors);
      e.cond.descriptions.push(...cond.descriptions);
      e.cond.warnings.push(...cond.warnings);
    }
    if (r.fqdn !== undefined) entries.get(r.root)!.fqdn = r.fqdn;
    for (const p of r.reached) reached.add(p);
  }
  const extensionClusters: ExtensionCluster[] = [];
  for (const e of extensions) {
    if (!e.cluster) continue;
    extensionClusters.push(e.cluster);
    for (const s of e.secrets) if (!secrets.has(s.id)) secrets.set(s.id, s);
    for (const b of e.caBundles) if (!caBundles.has(b.id)) caBundles.set(b.id, b);
  }
  let shared = new Map<IngressResult, { host: string; proxy: string }[]>();
  if (ingresses.length > 0) {
    const owners = new Map<string, string>();
    for (const r of results.values()) if (r.http || r.https) owners.set((r.http ?? r.https)!.fqdn, pkey(r.root.namespace, r.root.name));
    const m = merger.merge(httpVirtualHosts, httpsVirtualHosts, owners, ingresses);
    httpVirtualHosts.length = 0;
    httpVirtualHosts.push(...m.httpVirtualHosts);
    httpsVirtualHosts.length = 0;
    httpsVirtualHosts.push(...m.httpsVirtualHosts);
    for (const c of m.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const s of m.secrets) if (!secrets.has(s.id)) secrets.set(s.id, s);
    shared = m.shared;
  }
  httpVirtualHosts.sort(byFqdn);
  httpsVirtualHosts.sort(byFqdn);
  const sortedValues = <T>(m: Map<string, T>): T[] => [...m.keys()].sort(byString).map((k) => m.get(k)!);
  const proxyConfig: ProxyConfig = {
    httpVirtualHosts,
    httpsVirtualHosts,
    clusters: sortedValues(clusters),
    secrets: sortedValues(secrets),
    caBundles: sortedValues(caBundles),
  };
  if (fallbackCertificateId !== undefined) proxyConfig.fallbackCertificateId = fallbackCertificateId;
  if (extensionClusters.length > 0) proxyConfig.extensionClusters = extensionClusters.sort((a, b) => byString(a.name, b.name));

  // (iv) whatever no include reached is orphaned.
  for (const p of nonRoots) if (!reached.has(p)) entries.get(p)!.cond.addError('Orphaned', 'Orphaned', ORPHANED_MESSAGE);

  const statuses: HTTPProxyStatus[] = [];
  for (const e of entries.values()) statuses.push(toStatus(e));
  for (const r of rejectedList) {
    const cond = new Condition();
    const errors = r.errors.length > 0 ? r.errors : [{ path: 'spec', message: 'rejected by the schema' }];
    for (const fe of errors) {
      const text = fe.path !== '' ? `${fe.path}: ${fe.message}` : fe.message;
      cond.addError('SpecError', 'SchemaInvalid', text);
    }
    statuses.push(toStatus({ namespace: r.namespace, name: r.name, generation: 0, fqdn: '', cond }));
  }
  // Entries were created in namespace/name order; only rejected proxies interleave.
  if (rejectedList.length > 0) statuses.sort(byNamespaceName);
  return { proxyConfig, statuses, extensionServices: extensionStatuses(extensions, rejectedObjects), shared };
}

/** The schema-rejected objects of one kind not in `seen` (which they are
 *  added to), each with at least one error. */
function rejectedOfKind(rejected: Snapshot['rejected'], kind: string, seen: Set<string>): { namespace: string; name: string; errors: { path: string; message: string }[] }[] {
  const out: { namespace: string; name: string; errors: { path: string; message: string }[] }[] = [];
  for (const raw of rejected) {
    const r = rec(raw);
    if (!r || str(r.kind) !== kind || str(r.name) === '') continue;
    const namespace = str(r.namespace) || 'default';
    const name = str(r.name);
    if (seen.has(pkey(namespace, name))) continue;
    seen.add(pkey(namespace, name));
    const errors = arr(r.errors).map((e) => ({ path: str(rec(e)?.path), message: str(rec(e)?.message) }));
    out.push({ namespace, name, errors: errors.length > 0 ? errors : [{ path: 'spec', message: 'rejected by the schema' }] });
  }
  return out;
}

/** ExtensionService statuses, the schema-rejected ones included (they have
 *  no cluster, so authorization naming them is "not found"). */
function extensionStatuses(extensions: ExtensionResult[], rejected: Snapshot['rejected']): ExtensionServiceStatus[] {
  const out = extensions.map((e) => e.status);
  const seen = new Set(out.map((s) => pkey(s.namespace, s.name)));
  for (const { namespace, name, errors } of rejectedOfKind(rejected, 'ExtensionService', seen)) {
    const cond = new Condition();
    for (const fe of errors) {
      cond.addError('SpecError', 'SchemaInvalid', fe.path !== '' ? `${fe.path}: ${fe.message}` : fe.message);
    }
    out.push({
      namespace,
      name,
      conditions: [
        { type: 'Valid', status: 'False', observedGeneration: 0, reason: 'ErrorPresent', message: 'At least one error present, see Errors for details', errors: cond.errors, warnings: [] },
      ],
    });
  }
  return out.sort(byNamespaceName);
}
