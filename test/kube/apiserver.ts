// A test Kubernetes API server speaking the real REST protocol for the kinds
// isobar uses: discovery (enough for kubectl), list with resourceVersion and
// limit/continue, watch streams (JSON lines: ADDED/MODIFIED/DELETED/BOOKMARK,
// ERROR 410 for expired versions), create/get/replace/patch/delete, status
// subresources with optimistic concurrency (409), Leases, bearer-token auth,
// PartialObjectMetadata responses, and fault injection. State lives in memory
// and survives restart(), as etcd would.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  statusSubresource: boolean;
  custom: boolean; // CRD: strategic merge patch is refused, list items carry kind
}

export const RESOURCES: ResourceDef[] = [
  { group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], statusSubresource: true, custom: false },
  { group: '', version: 'v1', plural: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], statusSubresource: true, custom: false },
  { group: '', version: 'v1', plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, statusSubresource: false, custom: false },
  { group: '', version: 'v1', plural: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], statusSubresource: false, custom: false },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true, statusSubresource: false, custom: false },
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', singular: 'ingress', kind: 'Ingress', namespaced: true, shortNames: ['ing'], statusSubresource: true, custom: false },
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingressclasses', singular: 'ingressclass', kind: 'IngressClass', namespaced: false, statusSubresource: false, custom: false },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', singular: 'lease', kind: 'Lease', namespaced: true, statusSubresource: false, custom: false },
  { group: 'projectcontour.io', version: 'v1', plural: 'httpproxies', singular: 'httpproxy', kind: 'HTTPProxy', namespaced: true, shortNames: ['proxy', 'proxies'], statusSubresource: true, custom: true },
  { group: 'projectcontour.io', version: 'v1alpha1', plural: 'extensionservices', singular: 'extensionservice', kind: 'ExtensionService', namespaced: true, shortNames: ['extensionservice', 'extensionservices'], statusSubresource: true, custom: true },
  { group: 'projectcontour.io', version: 'v1', plural: 'tlscertificatedelegations', singular: 'tlscertificatedelegation', kind: 'TLSCertificateDelegation', namespaced: true, shortNames: ['tlscerts'], statusSubresource: false, custom: true },
  { group: '', version: 'v1', plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'], statusSubresource: false, custom: false },
];

const GW = 'gateway.networking.k8s.io';
/** The Gateway API CRDs: served only when the server is made with gatewayApi. */
export const GATEWAY_API_RESOURCES: ResourceDef[] = [
  { group: GW, version: 'v1', plural: 'gatewayclasses', singular: 'gatewayclass', kind: 'GatewayClass', namespaced: false, statusSubresource: true, custom: true },
  { group: GW, version: 'v1', plural: 'gateways', singular: 'gateway', kind: 'Gateway', namespaced: true, statusSubresource: true, custom: true },
  { group: GW, version: 'v1', plural: 'httproutes', singular: 'httproute', kind: 'HTTPRoute', namespaced: true, statusSubresource: true, custom: true },
  { group: GW, version: 'v1', plural: 'grpcroutes', singular: 'grpcroute', kind: 'GRPCRoute', namespaced: true, statusSubresource: true, custom: true },
  { group: GW, version: 'v1', plural: 'tlsroutes', singular: 'tlsroute', kind: 'TLSRoute', namespaced: true, statusSubresource: true, custom: true },
  { group: GW, version: 'v1', plural: 'tcproutes', singular: 'tcproute', kind: 'TCPRoute', namespaced: true, statusSubresource: true, custom: true },
  { group: GW, version: 'v1', plural: 'referencegrants', singular: 'referencegrant', kind: 'ReferenceGrant', namespaced: true, statusSubresource: false, custom: true },
  { group: GW, version: 'v1', plural: 'backendtlspolicies', singular: 'backendtlspolicy', kind: 'BackendTLSPolicy', namespaced: true, statusSubresource: true, custom: true },
];

type Obj = { apiVersion?: string; kind?: string; metadata: Meta; [k: string]: unknown };
interface Meta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  res: ResourceDef;
  object: Obj;
}

interface Watcher {
  res: ResourceDef;
  namespace?: string;
  metadataOnly: boolean;
  nameFilter?: string;
  labelFilter?: [string, string | undefined][];
  bookmarks: boolean;
  resp: http.ServerResponse;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  status: number;
  accept: string;
}

export interface ConflictRule {
  /** how many requests to fail */
  count: number;
  method?: string;
  /** substring of the path, e.g. "/status" */
  pathIncludes?: string;
}

export interface TestApiServerOptions {
  tls?: { certPem: string; keyPem: string; caPem: string };
  token?: string;
  /** events kept for watch-from-resourceVersion; older ones get 410 */
  historyLimit?: number;
  /** periodic BOOKMARK interval for watches that asked for them; 0 = never */
  bookmarkMs?: number;
  /** serve the Gateway API kinds (as if their CRDs were installed) */
  gatewayApi?: boolean;
  /** the version TCPRoute is served at (an experimental-channel CRD serves only v1alpha2); default v1 */
  tcpRouteVersion?: string;
}

const rvString = (n: number) => n.toString();
const clone = <T>(v: T): T => structuredClone(v);

function apiVersionOf(r: ResourceDef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export class TestApiServer {
  readonly token: string;
  port = 0;
  requests: RequestRecord[] = [];
  recordRequests = false;

  #o: TestApiServerOptions;
  #server!: http.Server;
  #sockets = new Set<Socket>();
  #store = new Map<ResourceDef, Map<string, Obj>>();
  #history: Event[] = [];
  #compactedRv = 0; // watches/lists older than this get 410
  #rv = 100;
  #watchers = new Set<Watcher>();
  #bookmarkTimer: NodeJS.Timeout | undefined;
  #conflicts: ConflictRule[] = [];
  #forbidden = new Set<string>(); // "plural" or "plural/verb"
  #validTokens = new Set<string>();
  #down = false;
  readonly #resources: ResourceDef[];

  constructor(o: TestApiServerOptions = {}) {
    this.#o = o;
    this.token = o.token ?? `t-${randomUUID()}`;
    this.#validTokens.add(this.token);
    const gateway = GATEWAY_API_RESOURCES.map((r) => (r.plural === 'tcproutes' && o.tcpRouteVersion ? { ...r, version: o.tcpRouteVersion } : r));
    this.#resources = o.gatewayApi ? [...RESOURCES, ...gateway] : RESOURCES;
    for (const r of this.#resources) this.#store.set(r, new Map());
  }

  get url(): string {
    return `${this.#o.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.#handle(req, res);
    this.#server = this.#o.tls
      ? https.createServer({ cert: this.#o.tls.certPem, key: this.#o.tls.keyPem }, handler)
      : http.createServer(handler);
    this.#server.keepAliveTimeout = 30_000;
    // Raw TCP sockets (for TLS too): one still in its handshake would keep
    // close() waiting forever.
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.#server.address() as AddressInfo).port;
    this.#down = false;
    const every = this.#o.bookmarkMs ?? 1000;
    if (every > 0) {
      this.#bookmarkTimer = setInterval(() => this.sendBookmarks(), every);
      this.#bookmarkTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#down = true;
    if (this.#bookmarkTimer) clearInterval(this.#bookmarkTimer);
    this.#bookmarkTimer = undefined;
    for (const w of this.#watchers) w.resp.destroy();
    this.#watchers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** Stop and listen again on the same port; stored objects survive. */
  async restart(downMs = 0): Promise<void> {
    const port = this.port;
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start(port);
  }

  /** Write a kubeconfig for this server (token auth, CA data when TLS). */
  kubeconfig(token = this.token): string {
    const dir = mkdtempSync(join(tmpdir(), 'isobar-kube-'));
    const file = join(dir, 'kubeconfig');
    const caLine = this.#o.tls
      ? `    certificate-authority-data: ${Buffer.from(this.#o.tls.caPem).toString('base64')}\n`
      : '';
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${this.url}
${caLine}users:
- name: test
  user:
    token: ${token}
contexts:
- name: test
  context:
    cluster: test
    user: test
    namespace: default
current-context: test
`,
      { mode: 0o600 },
    );
    return file;
  }

  // ---- fault injection --------------------------------------------------

  /** End every open watch stream abruptly (as a load balancer would). */
  dropWatches(): number {
    const n = this.#watchers.size;
    for (const w of this.#watchers) w.resp.socket?.destroy();
    this.#watchers.clear();
    return n;
  }

  /** Forget history: every resourceVersion seen so far becomes too old, and
   *  open watches end with an ERROR 410 Expired event. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
    for (const w of this.#watchers) {
      this.#writeEvent(w, { type: 'ERROR', object: expiredStatus() });
      w.resp.end();
    }
    this.#watchers.clear();
  }

  /** Write raw lines (malformed events) to every open watch of a resource. */
  injectWatchLines(plural: string, lines: string[]): number {
    let n = 0;
    for (const w of this.#watchers) {
      if (w.res.plural !== plural || w.resp.writableEnded) continue;
      for (const l of lines) w.resp.write(l.endsWith('\n') ? l : l + '\n');
      n++;
    }
    return n;
  }

  /** Fail the next `count` matching writes with 409 Conflict. */
  injectConflicts(rule: ConflictRule): void {
    this.#conflicts.push({ ...rule });
  }

  /** 403 for a resource ("secrets") or one verb on it ("secrets/watch"). */
  forbid(what: string): void {
    this.#forbidden.add(what);
  }
  allow(what: string): void {
    this.#forbidden.delete(what);
  }

  /** Accept another bearer token (one per simulated replica). */
  addToken(token: string): void {
    this.#validTokens.add(token);
  }

  /** Make a token invalid (401 from now on; open watches are cut). */
  revokeToken(token = this.token): void {
    this.#validTokens.delete(token);
    for (const w of this.#watchers) w.resp.socket?.destroy();
    this.#watchers.clear();
  }
  restoreToken(token = this.token): void {
    this.#validTokens.add(token);
  }

  sendBookmarks(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      this.#writeEvent(w, {
        type: 'BOOKMARK',
        object: { kind: w.res.kind, apiVersion: apiVersionOf(w.res), metadata: { resourceVersion: rvString(this.#rv) } },
      });
    }
  }

  get watchCount(): number {
    return this.#watchers.size;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  // ---- direct access for tests (same code paths as the REST handlers) ---

  resource(plural: string): ResourceDef {
    const r = this.#resources.find((x) => x.plural === plural);
    if (!r) throw new Error(`unknown resource ${plural}`);
    return r;
  }

  get(plural: string, namespace: string, name: string): Obj | undefined {
    const o = this.#store.get(this.resource(plural))!.get(`${namespace}/${name}`);
    return o ? clone(o) : undefined;
  }

  list(plural: string): Obj[] {
    return [...this.#store.get(this.resource(plural))!.values()].map(clone);
  }

  put(plural: string, obj: Obj): Obj {
    const r = this.resource(plural);
    const ns = r.namespaced ? (obj.metadata.namespace ?? 'default') : '';
    const existing = this.#store.get(r)!.get(`${ns}/${obj.metadata.name}`);
    const body = clone(obj);
    body.apiVersion ??= apiVersionOf(r);
    body.kind ??= r.kind;
    if (existing) {
      delete body.metadata.resourceVersion;
      return this.#update(r, ns, existing, body, false);
    }
    return this.#create(r, ns, body);
  }

  /** Sets an object's status as a write to its status subresource would. */
  putStatus(plural: string, namespace: string, name: string, status: unknown): Obj {
    const r = this.resource(plural);
    const existing = this.#store.get(r)!.get(`${r.namespaced ? namespace : ''}/${name}`);
    if (!existing) throw new Error(`no ${plural} ${namespace}/${name}`);
    return this.#update(r, r.namespaced ? namespace : '', existing, { ...clone(existing), status: clone(status) }, true);
  }

  delete(plural: string, namespace: string, name: string): boolean {
    const r = this.resource(plural);
    const existing = this.#store.get(r)!.get(`${namespace}/${name}`);
    if (!existing) return false;
    this.#remove(r, namespace, existing);
    return true;
  }

  // ---- storage ------------------------------------------------------------

  #nextRv(): string {
    this.#rv++;
    return rvString(this.#rv);
  }

  #record(type: Event['type'], res: ResourceDef, object: Obj): void {
    const ev: Event = { rv: Number(object.metadata.resourceVersion), type, res, object };
    this.#history.push(ev);
    const limit = this.#o.historyLimit ?? 100_000;
    if (this.#history.length > limit) {
      const drop = this.#history.length - limit;
      this.#compactedRv = this.#history[drop - 1]!.rv;
      this.#history.splice(0, drop);
    }
    for (const w of this.#watchers) if (this.#matches(w, ev.res, object)) this.#send(w, type, object);
  }

  #create(r: ResourceDef, ns: string, body: Obj): Obj {
    const meta = body.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomUUID().slice(0, 5);
    if (r.namespaced) meta.namespace = ns;
    else delete meta.namespace;
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    meta.generation = 1;
    meta.resourceVersion = this.#nextRv();
    delete meta.managedFields;
    if (r.statusSubresource && r.kind !== 'Namespace') delete body.status;
    if (r.kind === 'Secret') normaliseSecret(body);
    this.#store.get(r)!.set(`${ns}/${meta.name}`, body);
    this.#record('ADDED', r, body);
    return clone(body);
  }

  /** Replace `existing` with `body`; for `statusOnly`, only status changes. */
  #update(r: ResourceDef, ns: string, existing: Obj, body: Obj, statusOnly: boolean): Obj {
    let next: Obj;
    if (statusOnly) {
      next = clone(existing);
      if (body.status === undefined) delete next.status;
      else next.status = clone(body.status);
    } else {
      next = clone(body);
      const keep = existing.metadata;
      next.metadata = { ...next.metadata, uid: keep.uid, creationTimestamp: keep.creationTimestamp, generation: keep.generation, namespace: keep.namespace, name: keep.name };
      if (!r.namespaced) delete next.metadata.namespace;
      if (r.statusSubresource) {
        if (existing.status === undefined) delete next.status;
        else next.status = clone(existing.status);
      }
      if (r.kind === 'Secret') normaliseSecret(next);
      if (canonical(specOf(existing)) !== canonical(specOf(next))) next.metadata.generation = (keep.generation ?? 1) + 1;
    }
    next.apiVersion = apiVersionOf(r);
    next.kind = r.kind;
    // A no-op write keeps the resourceVersion and emits no event.
    const a = { ...existing, metadata: { ...existing.metadata, resourceVersion: '' } };
    const b = { ...next, metadata: { ...next.metadata, resourceVersion: '' } };
    if (canonical(a) === canonical(b)) return clone(existing);
    next.metadata.resourceVersion = this.#nextRv();
    this.#store.get(r)!.set(`${ns}/${next.metadata.name}`, next);
    this.#record('MODIFIED', r, next);
    return clone(next);
  }

  #remove(r: ResourceDef, ns: string, existing: Obj): Obj {
    this.#store.get(r)!.delete(`${ns}/${existing.metadata.name}`);
    const gone = clone(existing);
    gone.metadata.resourceVersion = this.#nextRv();
    this.#record('DELETED', r, gone);
    return gone;
  }

  // ---- HTTP ---------------------------------------------------------------

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (this.recordRequests) {
        const rec: RequestRecord = { method: req.method ?? 'GET', path: u.pathname, query: u.search, status: 0, accept: String(req.headers.accept ?? '') };
        this.requests.push(rec);
        res.on('finish', () => (rec.status = res.statusCode));
      }
      try {
        this.#route(req, res, u, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        if (err instanceof HttpFailure) sendStatus(res, err.code, err.reason, err.message, err.details);
        else sendStatus(res, 500, 'InternalError', String((err as Error).stack ?? err));
      }
    });
  }

  #route(req: http.IncomingMessage, res: http.ServerResponse, u: URL, body: string): void {
    if (this.#down) throw new HttpFailure(503, 'ServiceUnavailable', 'server is shutting down');
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !this.#validTokens.has(auth.slice(7))) throw new HttpFailure(401, 'Unauthorized', 'Unauthorized');
    const path = u.pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';

    // discovery
    if (method === 'GET') {
      if (path === '/version') return sendJson(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0-isobar-test', platform: 'linux/amd64' });
      if (path === '/api') return sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }] });
      if (path === '/apis') return sendJson(res, 200, this.#groupList());
      if (path === '/api/v1') return sendJson(res, 200, this.#resourceList('', 'v1'));
      const gm = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
      if (gm) {
        const group = this.#groupList().groups.find((g) => g.name === gm[1]);
        if (!group) throw new HttpFailure(404, 'NotFound', `the server could not find the requested resource`);
        if (!gm[2]) return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...group });
        if (!group.versions.some((v) => v.version === gm[2])) throw new HttpFailure(404, 'NotFound', 'the server could not find the requested resource');
        return sendJson(res, 200, this.#resourceList(gm[1]!, gm[2]));
      }
      if (path.startsWith('/openapi/')) throw new HttpFailure(404, 'NotFound', 'the server could not find the requested resource');
    }

    const parsed = this.#parsePath(path);
    if (!parsed) throw new HttpFailure(404, 'NotFound', 'the server could not find the requested resource');
    const { r, namespace, name, sub } = parsed;
    const q = u.searchParams;
    const watch = q.get('watch') === 'true' || q.get('watch') === '1';
    const verb = method === 'GET' ? (watch ? 'watch' : name ? 'get' : 'list') : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method] ?? method.toLowerCase();
    const rbacName = sub ? `${r.plural}/${sub}` : r.plural;
    if (this.#forbidden.has(r.plural) || this.#forbidden.has(`${rbacName}/${verb}`) || this.#forbidden.has(`${r.plural}/${verb}`)) {
      const where = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      throw new HttpFailure(403, 'Forbidden', `${r.plural}${r.group ? '.' + r.group : ''} is forbidden: User "system:serviceaccount:test:isobar" cannot ${verb} resource "${rbacName}" in API group "${r.group}" ${where}`, { kind: r.plural, group: r.group });
    }
    const accept = String(req.headers.accept ?? '');
    const metadataOnly = accept.includes('as=PartialObjectMetadata');
    const store = this.#store.get(r)!;
    const ns = r.namespaced ? (namespace ?? '') : '';

    if (sub && sub !== 'status') throw new HttpFailure(404, 'NotFound', `subresource ${sub} not found`);
    if (sub === 'status' && !r.statusSubresource) throw new HttpFailure(404, 'NotFound', 'the server could not find the requested resource');

    if (method === 'GET' && watch) return this.#watch(req, res, r, namespace, q, metadataOnly, name);
    if (method === 'GET' && !name) return this.#list(res, r, namespace, q, metadataOnly);
    if (method === 'POST' && !name) {
      if (r.namespaced && !namespace) throw new HttpFailure(405, 'MethodNotAllowed', 'create needs a namespace in the path');
      const obj = parseBody(body);
      if (obj.kind && obj.kind !== r.kind) throw new HttpFailure(400, 'BadRequest', `the kind ${obj.kind} does not match ${r.kind}`);
      if (obj.metadata.namespace && r.namespaced && obj.metadata.namespace !== ns) throw new HttpFailure(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      if (!obj.metadata.name && !obj.metadata.generateName) throw new HttpFailure(422, 'Invalid', `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
      if (obj.metadata.name && store.has(`${ns}/${obj.metadata.name}`)) {
        throw new HttpFailure(409, 'AlreadyExists', `${r.plural}${r.group ? '.' + r.group : ''} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, group: r.group, kind: r.plural });
      }
      obj.apiVersion = apiVersionOf(r);
      obj.kind = r.kind;
      return sendJson(res, 201, this.#create(r, ns, obj));
    }
    if (!name) throw new HttpFailure(405, 'MethodNotAllowed', `${method} is not allowed on a collection`);
    const existing = store.get(`${ns}/${name}`);
    const notFound = () => new HttpFailure(404, 'NotFound', `${r.plural}${r.group ? '.' + r.group : ''} "${name}" not found`, { name, group: r.group, kind: r.plural });
    if (method === 'GET') {
      if (!existing) throw notFound();
      return sendJson(res, 200, metadataOnly ? partial(existing) : existing);
    }
    if (method === 'DELETE') {
      if (!existing) throw notFound();
      this.#remove(r, ns, existing);
      return sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: r.group, kind: r.plural, uid: existing.metadata.uid } });
    }
    if (method === 'PUT' || method === 'PATCH') {
      if (!existing) throw notFound();
      this.#maybeConflict(method, path, r, name);
      let next: Obj;
      let preconditionRv: string | undefined;
      if (method === 'PUT') {
        next = parseBody(body);
        if (next.metadata.name && next.metadata.name !== name) throw new HttpFailure(400, 'BadRequest', 'the name of the object does not match the name on the URL');
        preconditionRv = next.metadata.resourceVersion;
      } else {
        const ct = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
        const patch = parseBody(body, true);
        if (ct === 'application/merge-patch+json' || (ct === 'application/strategic-merge-patch+json' && !r.custom)) {
          next = mergePatch(clone(existing), patch) as Obj;
        } else if (ct === 'application/strategic-merge-patch+json') {
          throw new HttpFailure(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for custom resources');
        } else {
          throw new HttpFailure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json`);
        }
        preconditionRv = (patch.metadata as Meta | undefined)?.resourceVersion;
      }
      if (preconditionRv && preconditionRv !== existing.metadata.resourceVersion) {
        throw new HttpFailure(409, 'Conflict', `Operation cannot be fulfilled on ${r.plural}${r.group ? '.' + r.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: r.group, kind: r.plural });
      }
      return sendJson(res, 200, this.#update(r, ns, existing, next, sub === 'status'));
    }
    throw new HttpFailure(405, 'MethodNotAllowed', `${method} is not supported`);
  }

  #maybeConflict(method: string, path: string, r: ResourceDef, name: string): void {
    for (const rule of this.#conflicts) {
      if (rule.count <= 0) continue;
      if (rule.method && rule.method !== method) continue;
      if (rule.pathIncludes && !path.includes(rule.pathIncludes)) continue;
      rule.count--;
      this.#conflicts = this.#conflicts.filter((c) => c.count > 0);
      throw new HttpFailure(409, 'Conflict', `Operation cannot be fulfilled on ${r.plural}${r.group ? '.' + r.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: r.group, kind: r.plural });
    }
  }

  #parsePath(path: string): { r: ResourceDef; namespace?: string; name?: string; sub?: string } | undefined {
    let group = '';
    let version: string;
    let rest: string[];
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'api' && parts.length >= 3) {
      version = parts[1]!;
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 4) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const r = this.#resources.find((x) => x.group === group && x.version === version && x.plural === rest[0]);
    if (!r || rest.length > 3) return undefined;
    if (namespace && !r.namespaced) return undefined;
    return { r, namespace, name: rest[1], sub: rest[2] };
  }

  #groupList() {
    const groups = [...new Set(this.#resources.filter((r) => r.group).map((r) => r.group))];
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((g) => {
        // projectcontour.io serves v1 and v1alpha1 (ExtensionService).
        const versions = [...new Set(this.#resources.filter((r) => r.group === g).map((r) => r.version))].sort().map((v) => ({ groupVersion: `${g}/${v}`, version: v }));
        return { name: g, versions, preferredVersion: versions[0]! };
      }),
    };
  }

  #resourceList(group: string, version: string) {
    const resources: unknown[] = [];
    for (const r of this.#resources.filter((x) => x.group === group && x.version === version)) {
      resources.push({
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
      });
      if (r.statusSubresource) resources.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }

  #list(res: http.ServerResponse, r: ResourceDef, namespace: string | undefined, q: URLSearchParams, metadataOnly: boolean): void {
    const rvParam = q.get('resourceVersion') ?? '';
    if (rvParam && rvParam !== '0' && q.get('resourceVersionMatch') === 'Exact' && Number(rvParam) < this.#compactedRv) {
      throw new HttpFailure(410, 'Expired', `too old resource version: ${rvParam} (${this.#compactedRv})`);
    }
    let items = [...this.#store.get(r)!.values()].filter((o) => !namespace || o.metadata.namespace === namespace);
    items = items.filter((o) => matchesSelectors(o, q.get('fieldSelector'), q.get('labelSelector')));
    items.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    let listRv = rvString(this.#rv);
    let offset = 0;
    const cont = q.get('continue');
    if (cont) {
      let tok: { rv: string; offset: number };
      try {
        tok = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8'));
      } catch {
        throw new HttpFailure(400, 'BadRequest', 'continue key is not valid');
      }
      if (Number(tok.rv) < this.#compactedRv) throw new HttpFailure(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
      listRv = tok.rv;
      offset = tok.offset;
    }
    const limit = Number(q.get('limit') ?? 0);
    let next: string | undefined;
    if (limit > 0 && items.length > offset + limit) next = Buffer.from(JSON.stringify({ rv: listRv, offset: offset + limit })).toString('base64url');
    items = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    // Built-in kinds carry no kind/apiVersion on list items; CRDs do.
    const out = items.map((o) => {
      if (metadataOnly) return partial(o);
      if (r.custom) return o;
      const { kind: _k, apiVersion: _a, ...rest } = o;
      return rest;
    });
    sendJson(res, 200, {
      kind: metadataOnly ? 'PartialObjectMetadataList' : `${r.kind}List`,
      apiVersion: metadataOnly ? 'meta.k8s.io/v1' : apiVersionOf(r),
      metadata: { resourceVersion: listRv, ...(next ? { continue: next } : {}) },
      items: out,
    });
  }

  #watch(req: http.IncomingMessage, res: http.ServerResponse, r: ResourceDef, namespace: string | undefined, q: URLSearchParams, metadataOnly: boolean, name?: string): void {
    const fieldSel = q.get('fieldSelector') ?? '';
    const nameFilter = name ?? /metadata\.name=([^,]+)/.exec(fieldSel)?.[1];
    const w: Watcher = {
      res: r,
      namespace,
      metadataOnly,
      nameFilter,
      labelFilter: parseLabels(q.get('labelSelector')),
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      resp: res,
    };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const rvParam = q.get('resourceVersion') ?? '';
    if (rvParam && rvParam !== '0' && Number(rvParam) < this.#compactedRv) {
      this.#writeEvent(w, { type: 'ERROR', object: expiredStatus(rvParam) });
      res.end();
      return;
    }
    if (!rvParam || rvParam === '0') {
      for (const o of this.#store.get(r)!.values()) if (this.#matches(w, r, o)) this.#send(w, 'ADDED', o);
    } else {
      const from = Number(rvParam);
      for (const ev of this.#history) if (ev.rv > from && ev.res === r && this.#matches(w, r, ev.object)) this.#send(w, ev.type, ev.object);
    }
    this.#watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    let timer: NodeJS.Timeout | undefined;
    if (timeout > 0) {
      timer = setTimeout(() => {
        this.#watchers.delete(w);
        res.end();
      }, timeout * 1000);
      timer.unref();
    }
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      this.#watchers.delete(w);
    };
    res.on('close', cleanup);
  }

  #matches(w: Watcher, r: ResourceDef, o: Obj): boolean {
    if (w.res !== r) return false;
    if (w.namespace && o.metadata.namespace !== w.namespace) return false;
    if (w.nameFilter && o.metadata.name !== w.nameFilter) return false;
    if (w.labelFilter) {
      for (const [k, v] of w.labelFilter) {
        const have = o.metadata.labels?.[k];
        if (v === undefined ? have === undefined : have !== v) return false;
      }
    }
    return true;
  }

  #send(w: Watcher, type: string, o: Obj): void {
    const object = w.metadataOnly ? partial(o) : o;
    this.#writeEvent(w, { type, object });
  }

  #writeEvent(w: Watcher, ev: unknown): void {
    if (w.resp.writableEnded || w.resp.destroyed) return;
    w.resp.write(JSON.stringify(ev) + '\n');
  }
}

class HttpFailure extends Error {
  code: number;
  reason: string;
  details?: Record<string, unknown>;
  constructor(code: number, reason: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: http.ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}

function expiredStatus(rv?: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rv ?? ''}`, reason: 'Expired', code: 410 };
}

function parseBody(body: string, allowPartial = false): Obj {
  let obj: unknown;
  try {
    obj = JSON.parse(body);
  } catch (err) {
    throw new HttpFailure(400, 'BadRequest', `the body of the request is not valid JSON: ${(err as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new HttpFailure(400, 'BadRequest', 'the body must be a JSON object');
  const o = obj as Obj;
  if (!allowPartial && (!o.metadata || typeof o.metadata !== 'object')) o.metadata = {};
  return o;
}

function partial(o: Obj) {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

function specOf(o: Obj): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

function normaliseSecret(o: Obj): void {
  const data = { ...((o.data as Record<string, string> | undefined) ?? {}) };
  const stringData = o.stringData as Record<string, string> | undefined;
  for (const [k, v] of Object.entries(stringData ?? {})) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  delete o.stringData;
  o.data = data;
  o.type ??= 'Opaque';
}

/** JSON with object keys sorted, for content comparison. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function parseLabels(sel: string | null): [string, string | undefined][] | undefined {
  if (!sel) return undefined;
  return sel.split(',').map((p) => {
    const [k, v] = p.split('=');
    return [k!.trim(), v?.trim()];
  });
}

function matchesSelectors(o: Obj, fieldSel: string | null, labelSel: string | null): boolean {
  const name = fieldSel ? /metadata\.name=([^,]+)/.exec(fieldSel)?.[1] : undefined;
  if (name && o.metadata.name !== name) return false;
  for (const [k, v] of parseLabels(labelSel) ?? []) {
    const have = o.metadata.labels?.[k];
    if (v === undefined ? have === undefined : have !== v) return false;
  }
  return true;
}
