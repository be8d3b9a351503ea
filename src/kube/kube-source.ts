// KubeSource: keeps the ObjectCache in step with a Kubernetes API server.
// One client-node informer (ListWatch) per watched kind (and namespace, when
// restricted): initial list, watch from the list's resourceVersion with
// bookmarks, re-list on 410 Gone, reconnect with backoff. Events become
// cache upserts/rejections/removals; 'change' is emitted coalesced (100 ms
// holdoff, forced after 500 ms) and only once every initial list is done,
// so builders never see a half-listed cluster.
//
// Secrets are watched as metadata only: an index of namespace/name/version.
// A Secret's data is fetched, decoded and kept only while something
// references it (an HTTPProxy, the config's certificates, extra references).
//
// Events: 'change' (coalesced, after the initial sync), 'ready' (every kind
// listed, referenced Secrets fetched, nothing failing), 'problem' (a
// KubeProblem: what failed and how to fix it; retried with backoff), 'status'
// (kind, namespace, name: an HTTPProxy's, ExtensionService's or Service's
// status changed on the server, so a status writer can repair what someone
// else overwrote).

import { EventEmitter } from 'node:events';
import { ListWatch } from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { ObjectCache, BackendTLSPolicy, Gateway, HTTPProxy, Ingress } from '../objects/index.ts';
import type { IsobarConfig, NamespacedName } from '../config/index.ts';
import { ApiClient, ApiError } from './api-client.ts';
import { loadKubeConfig } from './kubeconfig.ts';
import { StreamWatch } from './watch-stream.ts';
import { Backoff } from './backoff.ts';
import type { BackoffOptions } from './backoff.ts';
import { Coalescer } from './coalescer.ts';
import { convert } from './convert.ts';
import { describeFailure } from './problems.ts';
import {
  BACKENDTLSPOLICIES,
  CONFIGMAPS,
  GATEWAYS,
  GATEWAY_API_TYPES,
  NAMESPACES,
  DELEGATIONS,
  ENDPOINTS,
  ENDPOINTSLICES,
  EXTENSIONSERVICES,
  HTTPPROXIES,
  INGRESSCLASSES,
  INGRESSES,
  SECRETS,
  SERVICES,
  TCPROUTES,
  TCPROUTES_V1ALPHA2,
  collectionPath,
  objectPath,
  resourceName,
} from './resources.ts';
import type { ResourceType } from './resources.ts';
import { SecretRefs, secretsOfGateway, secretsOfIngress, secretsOfPolicy, secretsOfProxy } from './secret-refs.ts';
import type { SecretKey } from './secret-refs.ts';

export interface KubeSourceOptions {
  /** kubeconfig file; else in-cluster, else KUBECONFIG / ~/.kube/config */
  kubeconfig?: string;
  /** namespaces to watch; empty or absent = all */
  namespaces?: string[];
  logger?: Logger;
  /** coalescing: fire this long after the last event (default 100 ms) */
  holdoffMs?: number;
  /** ... but no later than this after the first unflushed one (500 ms) */
  holdoffMaxMs?: number;
  /** the config file: its client and fallback certificates are kept */
  config?: IsobarConfig;
  /** further Secrets to keep in memory (e.g. named by the balancer) */
  extraSecrets?: NamespacedName[];
  /** also watch core/v1 Endpoints (default: EndpointSlices only) */
  endpoints?: boolean;
  /** retry delays after a failed list/watch (default 500 ms .. 30 s) */
  backoff?: BackoffOptions;
  /** page size of list requests (default 500) */
  pageSize?: number;
}

/** The payload of 'problem' events (the same shape the folder source uses:
 *  a `message` to log). */
export interface KubeProblem {
  message: string;
  /** "projectcontour.io/httpproxies", "secrets", ... */
  resource: string;
  namespace?: string;
}

const ORIGIN = { origin: 'kubernetes' } as const;
/** Gateway API kinds whose status isobar writes (and so watches for repairs). */
const HAS_GATEWAY_STATUS = new Set<ResourceType>([...GATEWAY_API_TYPES.filter((t) => t.kind !== 'ReferenceGrant'), TCPROUTES_V1ALPHA2]);
const META_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const META_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

interface Feed {
  type: ResourceType;
  namespace?: string;
  informer: ListWatch<KubernetesObject>;
  watch: StreamWatch;
  listed: boolean;
  failure?: string;
  backoff: Backoff;
  retry?: NodeJS.Timeout;
}

type Raw = KubernetesObject & Record<string, any>;

export class KubeSource extends EventEmitter {
  #cache: ObjectCache;
  #o: KubeSourceOptions;
  #log: Logger;
  #client: ApiClient | undefined;
  #feeds: Feed[] = [];
  /** Kinds read at another version than their usual one (discovery decides). */
  readonly #servedAt = new Map<string, ResourceType>();
  #coalescer: Coalescer;
  #ready = false;
  #stopping = false;
  #refs = new SecretRefs();
  #secretIndex = new Map<SecretKey, string>(); // key -> resourceVersion
  #secretFetches = new Map<SecretKey, Promise<void>>();
  #secretRetry = new Map<SecretKey, NodeJS.Timeout>();
  #statuses = new Map<string, unknown>(); // "Kind/ns/name" -> status as on the server
  #rejectedRv = new Map<string, string>();
  #proxySig = new Map<string, string>(); // HTTPProxy key -> uid|generation|labels|annotations

  constructor(cache: ObjectCache, o: KubeSourceOptions = {}) {
    super();
    this.#cache = cache;
    this.#o = o;
    this.#log = o.logger ?? pino({ level: 'silent' });
    this.#coalescer = new Coalescer(() => this.emit('change'), o.holdoffMs ?? 100, o.holdoffMaxMs ?? 500);
    this.#coalescer.pause(); // until every initial list is done
    this.#setConfigRefs();
  }

  /** Initial lists done for every kind, referenced Secrets fetched, and no
   *  kind currently failing. */
  ready(): boolean {
    return this.#ready;
  }

  /** The status an object has on the API server, as last seen. */
  observedStatus(kind: string, namespace: string, name: string): unknown {
    return this.#statuses.get(`${kind}/${namespace}/${name}`);
  }

  /** Replace the extra Secret references (e.g. from the balancer). */
  setExtraSecrets(list: NamespacedName[]): void {
    this.#o.extraSecrets = list;
    this.#setConfigRefs();
  }

  /** Loads the kubeconfig (throws a clear error if there is none), starts
   *  every informer, and resolves once each has made its first attempt.
   *  API failures do not reject: they are 'problem's, retried. */
  async start(): Promise<void> {
    const kc = loadKubeConfig(this.#o.kubeconfig);
    this.#stopping = false;
    this.#client = new ApiClient(kc);
    const types = [HTTPPROXIES, DELEGATIONS, EXTENSIONSERVICES, SERVICES, SECRETS, ENDPOINTSLICES, INGRESSES];
    if (this.#o.endpoints) types.push(ENDPOINTS);
    const namespaces = this.#o.namespaces?.length ? [...new Set(this.#o.namespaces)] : [undefined];
    for (const type of types) for (const ns of namespaces) this.#feeds.push(this.#makeFeed(type, ns));
    // IngressClasses are cluster-scoped: a source limited to namespaces (a
    // namespaced Role) does not read them, and classes match by name only.
    if (namespaces[0] === undefined) this.#feeds.push(this.#makeFeed(INGRESSCLASSES, undefined));
    // The Gateway API only when its CRDs are installed: a missing CRD is a
    // logged skip, never a failing watch.
    const gatewayTypes = await this.#servedGatewayTypes();
    for (const type of gatewayTypes) {
      if (type.clusterScoped) {
        if (namespaces[0] === undefined) this.#feeds.push(this.#makeFeed(type, undefined));
      } else for (const ns of namespaces) this.#feeds.push(this.#makeFeed(type, ns));
    }
    if (gatewayTypes.length > 0) {
      if (namespaces[0] === undefined) this.#feeds.push(this.#makeFeed(NAMESPACES, undefined));
      for (const ns of namespaces) this.#feeds.push(this.#makeFeed(CONFIGMAPS, ns));
    }
    this.#log.info({ server: this.#client.server, namespaces: this.#o.namespaces?.length ? this.#o.namespaces : 'all' }, 'watching the Kubernetes API');
    await Promise.all(this.#feeds.map((f) => this.#startFeed(f)));
  }

  /** The Gateway API kinds the API server serves (discovery of
   *  gateway.networking.k8s.io/v1); none, logged, when the CRDs are missing. */
  async #servedGatewayTypes(): Promise<ResourceType[]> {
    try {
      const list = await this.#client!.request<{ resources?: { name?: string }[] }>('GET', '/apis/gateway.networking.k8s.io/v1');
      const names = new Set((list.resources ?? []).map((r) => r.name));
      const served = GATEWAY_API_TYPES.filter((t) => names.has(t.plural));
      // TCPRoute reached v1 late: an older CRD serves only v1alpha2 (same fields), read and written there.
      if (!names.has(TCPROUTES.plural) && names.size > 0 && (await this.#serves(TCPROUTES_V1ALPHA2))) {
        served.push(TCPROUTES_V1ALPHA2);
        this.#servedAt.set('TCPRoute', TCPROUTES_V1ALPHA2);
      }
      const missing = GATEWAY_API_TYPES.filter((t) => !served.some((s) => s.kind === t.kind)).map((t) => t.plural);
      if (missing.length > 0) this.#log.info({ missing }, `Gateway API CRDs not installed for ${missing.join(', ')}: those kinds are not watched (install the CRDs and restart to serve them)`);
      return served;
    } catch (err) {
      const why = err instanceof ApiError && err.statusCode === 404 ? 'the Gateway API CRDs are not installed' : `discovery failed: ${(err as Error).message}`;
      this.#log.info(`${why}: Gateway API kinds are not watched (install the CRDs and restart to serve them)`);
      return [];
    }
  }

  /** Whether discovery lists `t` at its version. */
  async #serves(t: ResourceType): Promise<boolean> {
    try {
      const list = await this.#client!.request<{ resources?: { name?: string }[] }>('GET', `/apis/${t.group}/${t.version}`);
      return (list.resources ?? []).some((r) => r.name === t.plural);
    } catch {
      return false;
    }
  }

  /** The resource a kind is read at when that is not its usual version
   *  (TCPRoute at v1alpha2): its status is written there too. */
  servedAt(kind: string): ResourceType | undefined {
    return this.#servedAt.get(kind);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#coalescer.stop();
    for (const t of this.#secretRetry.values()) clearTimeout(t);
    this.#secretRetry.clear();
    for (const f of this.#feeds) {
      if (f.retry) clearTimeout(f.retry);
      f.watch.abortAll();
      await f.informer.stop();
    }
    this.#feeds = [];
    await Promise.allSettled([...this.#secretFetches.values()]);
    await this.#client?.close();
  }

  // ---- informers ----------------------------------------------------------

  #makeFeed(type: ResourceType, namespace: string | undefined): Feed {
    const client = this.#client!;
    const metadataOnly = type === SECRETS;
    const path = collectionPath(type, namespace);
    const feed = {} as Feed;
    const watch = new StreamWatch(client, {
      accept: metadataOnly ? META_ACCEPT : undefined,
      onConnected: () => this.#healthy(feed),
    });
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const items = await this.#listAll(path, metadataOnly ? META_LIST_ACCEPT : undefined);
      // ListWatch applies the items synchronously after this resolves; the
      // check-phase callback runs after that.
      setImmediate(() => this.#listed(feed));
      return items;
    };
    const informer = new ListWatch<KubernetesObject>(path, watch as never, list, false);
    Object.assign(feed, { type, namespace, informer, watch, listed: false, backoff: new Backoff(this.#o.backoff) });
    informer.on('add', (o) => this.#upsert(feed, o as Raw));
    informer.on('update', (o) => this.#upsert(feed, o as Raw));
    informer.on('delete', (o) => this.#delete(feed, o as Raw));
    informer.on('error', (err) => this.#failed(feed, err));
    return feed;
  }

  async #startFeed(f: Feed): Promise<void> {
    try {
      await f.informer.start();
    } catch (err) {
      this.#failed(f, err);
    }
  }

  async #listAll(path: string, accept?: string): Promise<KubernetesListObject<KubernetesObject>> {
    const client = this.#client!;
    const limit = String(this.#o.pageSize ?? 500);
    for (let attempt = 0; ; attempt++) {
      const items: KubernetesObject[] = [];
      let cont: string | undefined;
      let rv = '';
      try {
        do {
          const page = await client.request<{ metadata?: { resourceVersion?: string; continue?: string }; items?: KubernetesObject[] }>(
            'GET',
            path,
            { query: { limit, continue: cont }, accept },
          );
          for (const it of page.items ?? []) items.push(it);
          rv = page.metadata?.resourceVersion ?? '';
          cont = page.metadata?.continue || undefined;
        } while (cont);
        return { metadata: { resourceVersion: rv }, items } as KubernetesListObject<KubernetesObject>;
      } catch (err) {
        // A continue token can expire mid-list (410): start the list over.
        if (err instanceof ApiError && err.statusCode === 410 && attempt < 3) continue;
        throw err;
      }
    }
  }

  #listed(f: Feed): void {
    if (this.#stopping) return;
    f.listed = true;
    this.#healthy(f);
  }

  #healthy(f: Feed): void {
    if (f.failure) {
      this.#log.info({ resource: resourceName(f.type), namespace: f.namespace }, 'watch recovered');
      f.failure = undefined;
    }
    f.backoff.reset();
    this.#updateReady();
  }

  #failed(f: Feed, err: unknown): void {
    if (this.#stopping) return;
    if (f.retry) return; // a retry is already scheduled
    const delay = f.backoff.next();
    // A stream cut mid-watch (proxy idle timeout, server restart) is routine:
    // resume quietly from the last resourceVersion; repeated ones are news.
    if (!(err instanceof ApiError) && !f.failure && f.backoff.attempts <= 2) {
      this.#log.debug({ resource: resourceName(f.type), namespace: f.namespace, err: (err as Error)?.message }, 'watch ended, resuming');
      f.retry = setTimeout(() => {
        f.retry = undefined;
        if (!this.#stopping) void this.#startFeed(f);
      }, delay);
      return;
    }
    const message = describeFailure(err, this.#client?.server ?? '', f.type, f.namespace, delay);
    f.failure = message;
    this.#log.error({ resource: resourceName(f.type), namespace: f.namespace, attempt: f.backoff.attempts }, message);
    this.emit('problem', { message, resource: resourceName(f.type), namespace: f.namespace } satisfies KubeProblem);
    this.#updateReady();
    f.retry = setTimeout(() => {
      f.retry = undefined;
      if (!this.#stopping) void this.#startFeed(f);
    }, delay);
  }

  #updateReady(): void {
    const ready = this.#feeds.length > 0 && this.#feeds.every((f) => f.listed && !f.failure) && this.#secretFetches.size === 0;
    if (ready === this.#ready) return;
    this.#ready = ready;
    if (ready) {
      this.#log.info('Kubernetes API source ready');
      this.#coalescer.resume();
      this.emit('ready');
      this.#coalescer.poke();
      this.#coalescer.flush();
    }
  }

  // ---- events -------------------------------------------------------------

  #upsert(f: Feed, raw: Raw): void {
    if (f.type === SECRETS) return this.#secretSeen(raw);
    const key = `${f.type.kind}/${f.type.clusterScoped ? '' : (raw.metadata?.namespace ?? 'default')}/${raw.metadata?.name ?? ''}`;
    if (f.type === HTTPPROXIES || f.type === EXTENSIONSERVICES || f.type === SERVICES || f.type === INGRESSES || HAS_GATEWAY_STATUS.has(f.type)) {
      const before = this.#statuses.get(key);
      if (raw.status !== undefined) this.#statuses.set(key, raw.status);
      else this.#statuses.delete(key);
      if (JSON.stringify(before) !== JSON.stringify(raw.status)) {
        this.emit('status', f.type.kind, raw.metadata?.namespace ?? 'default', raw.metadata?.name ?? '');
      }
    }
    if (f.type === HTTPPROXIES) {
      // Spec changes bump generation; a new version with the same uid, generation,
      // labels and annotations is a status write (often our own): nothing to
      // convert or rebuild.
      const m = raw.metadata ?? {};
      const sig = `${m.uid ?? ''}|${m.generation ?? ''}|${JSON.stringify(m.labels ?? null)}|${JSON.stringify(m.annotations ?? null)}`;
      const same = this.#proxySig.get(key) === sig && m.generation !== undefined;
      this.#proxySig.set(key, sig);
      if (same) {
        slim(raw);
        return;
      }
    }
    const c = convert(f.type, raw);
    if (c.warnings.length) this.#log.debug({ object: key, warnings: c.warnings }, 'fields ignored');
    let changed: boolean;
    if ('object' in c) {
      changed = this.#cache.upsert(c.object, ORIGIN);
      this.#rejectedRv.delete(key);
      if (f.type === HTTPPROXIES) this.#setRefs(key, secretsOfProxy(c.object as HTTPProxy));
      if (f.type === INGRESSES) this.#setRefs(key, secretsOfIngress(c.object as Ingress));
      if (f.type === GATEWAYS) this.#setRefs(key, secretsOfGateway(c.object as Gateway));
      if (f.type === BACKENDTLSPOLICIES) this.#setRefs(key, secretsOfPolicy(c.object as BackendTLSPolicy));
    } else {
      changed = this.#cache.reject(c.rejected);
      const rv = raw.metadata?.resourceVersion ?? '';
      if (this.#rejectedRv.get(key) !== rv) {
        this.#rejectedRv.set(key, rv);
        const fields = c.rejected.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
        this.#log.warn({ object: key }, `${key} rejected by the schema: ${fields}; fix the object (kubectl edit) and it will be picked up`);
      }
      if (f.type === HTTPPROXIES || f.type === INGRESSES || f.type === GATEWAYS || f.type === BACKENDTLSPOLICIES) this.#setRefs(key, new Set());
    }
    // The informer keeps its own copy of every object; it needs only the
    // identity and version, so drop the rest to keep memory at one copy.
    slim(raw);
    if (changed) this.#coalescer.poke();
  }

  #delete(f: Feed, raw: Raw): void {
    const ns = f.type.clusterScoped ? '' : (raw.metadata?.namespace ?? 'default');
    const name = raw.metadata?.name ?? '';
    if (f.type === SECRETS) {
      const key = `${ns}/${name}`;
      this.#secretIndex.delete(key);
      if (this.#cache.remove('Secret', ns, name)) this.#coalescer.poke();
      return;
    }
    const key = `${f.type.kind}/${ns}/${name}`;
    this.#statuses.delete(key);
    this.#proxySig.delete(key);
    this.#rejectedRv.delete(key);
    if (f.type === HTTPPROXIES || f.type === INGRESSES || f.type === GATEWAYS || f.type === BACKENDTLSPOLICIES) this.#setRefs(key, new Set());
    if (this.#cache.remove(f.type.kind, ns, name)) this.#coalescer.poke();
  }

  // ---- Secrets ------------------------------------------------------------

  #setConfigRefs(): void {
    const keys = new Set<SecretKey>();
    const tls = this.#o.config?.tls;
    for (const n of [tls?.envoyClientCertificate, tls?.fallbackCertificate, ...(this.#o.extraSecrets ?? [])]) {
      if (n) keys.add(`${n.namespace}/${n.name}`);
    }
    this.#setRefs('config', keys);
  }

  #setRefs(holder: string, keys: Set<SecretKey>): void {
    const { added, removed } = this.#refs.set(holder, keys);
    for (const k of added) if (this.#secretIndex.has(k)) this.#fetchSecret(k);
    for (const k of removed) {
      const [ns, name] = splitKey(k);
      if (this.#cache.remove('Secret', ns, name)) this.#coalescer.poke();
    }
  }

  #secretSeen(raw: Raw): void {
    const ns = raw.metadata?.namespace ?? 'default';
    const key = `${ns}/${raw.metadata?.name ?? ''}`;
    const rv = raw.metadata?.resourceVersion ?? '';
    this.#secretIndex.set(key, rv);
    slim(raw); // in case the server sent the whole Secret anyway
    if (!this.#refs.wanted(key)) return;
    const have = this.#cache.get('Secret', ns, raw.metadata?.name ?? '');
    if (have && have.object.metadata.resourceVersion === rv) return;
    this.#fetchSecret(key);
  }

  #fetchSecret(key: SecretKey): void {
    if (this.#stopping || !this.#client) return;
    const running = this.#secretFetches.get(key);
    if (running) {
      // Fetch again after the running one: it may predate the new version.
      void running.then(() => {
        if (this.#refs.wanted(key) && this.#secretIndex.has(key)) this.#fetchSecret(key);
      });
      return;
    }
    const [ns, name] = splitKey(key);
    const p = (async () => {
      try {
        const raw = await this.#client!.request<Raw>('GET', objectPath(SECRETS, ns, name));
        if (this.#stopping || !this.#refs.wanted(key) || !this.#secretIndex.has(key)) return;
        const c = convert(SECRETS, raw);
        const changed = 'object' in c ? this.#cache.upsert(c.object, ORIGIN) : this.#cache.reject(c.rejected);
        if ('rejected' in c) this.#log.warn({ object: `Secret/${key}` }, `Secret ${key} rejected: ${c.rejected.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
        if (changed) this.#coalescer.poke();
      } catch (err) {
        if (err instanceof ApiError && err.statusCode === 404) {
          if (this.#cache.remove('Secret', ns, name)) this.#coalescer.poke();
          return;
        }
        if (this.#stopping) return;
        const delay = 1000 + Math.floor(Math.random() * 1000);
        const msg = `cannot read Secret ${key}: ${(err as Error).message}; retrying in ${(delay / 1000).toFixed(1)}s`;
        this.#log.error(msg);
        this.emit('problem', { message: msg, resource: 'secrets', namespace: ns } satisfies KubeProblem);
        const t = setTimeout(() => {
          this.#secretRetry.delete(key);
          if (this.#refs.wanted(key) && this.#secretIndex.has(key)) this.#fetchSecret(key);
        }, delay);
        this.#secretRetry.set(key, t);
      }
    })().finally(() => {
      this.#secretFetches.delete(key);
      this.#updateReady();
    });
    this.#secretFetches.set(key, p);
    this.#updateReady();
  }
}

function splitKey(k: SecretKey): [string, string] {
  const i = k.indexOf('/');
  return [k.slice(0, i), k.slice(i + 1)];
}

function slim(raw: Raw): void {
  const m = raw.metadata ?? {};
  for (const k of Object.keys(raw)) if (k !== 'metadata') delete raw[k];
  raw.metadata = { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion };
}
