// The routing graph of the running edge, built from what the primary
// already holds: the configs its workers run and the status report (with
// the load balancers' live target health). Pure: same input, same graph.
import type { Cluster, Route, SecureVirtualHost, VirtualHost } from '../dag/index.ts';
import type { BalancerListener } from '../balancer/index.ts';
import type { HTTPProxyStatus, ServiceStatus, StatusReport } from '../status/index.ts';
import { daysToExpiry, EXPIRY_WARNING_DAYS, secretCertificate } from './certificate-info.ts';
import type { EdgeView } from './edge-view.ts';
import type { EdgeGraph, GraphEdge, GraphNode, NodeStatus } from './graph-types.ts';

/** Node ids, one place: the page and /api/object use the same ones. */
export const ids = {
  lbListener: (listenerId: string) => `lb:${listenerId}`,
  proxyListener: (name: string) => `pl:${name}`,
  vhost: (listener: string, fqdn: string) => `vh:${listener}/${fqdn}`,
  route: (listener: string, fqdn: string, index: number) => `rt:${listener}/${fqdn}/${index}`,
  cluster: (name: string) => `cl:${name}`,
  endpoint: (address: string, port: number) => `ep:${address.includes(':') ? `[${address}]` : address}:${port}`,
  httpproxy: (namespace: string, name: string) => `hp:${namespace}/${name}`,
  edgeCertificate: (arn: string) => `cert:${arn}`,
  secretCertificate: (secretId: string) => `cert:secret/${secretId}`,
};

export function buildGraph(view: EdgeView, report: StatusReport, now: number): EdgeGraph {
  const g = new GraphBuilder();
  const proxy = view.proxyConfig;
  const proxies = new Map(report.httpproxies.map((p) => [`${p.namespace}/${p.name}`, p]));

  // Load balancers first: each listener, its certificates, where it sends flows.
  const services = new Map(report.services.map((s) => [`${s.namespace}/${s.name}`, s]));
  for (const lb of view.balancerConfig?.loadBalancers ?? []) {
    const status = services.get(`${lb.namespace}/${lb.name}`);
    for (const l of lb.listeners) addLbListener(g, l, `${lb.namespace}/${lb.name}`, status, view, now);
  }

  for (const pl of view.proxyListeners) {
    const tcp = view.proxyConfig?.listeners?.find((l) => l.name === pl.name && l.tcpProxy);
    if (tcp?.tcpProxy) for (const [cluster, weight] of sharesByCluster(tcp.tcpProxy.clusters)) g.edge(ids.proxyListener(pl.name), ids.cluster(cluster), weight);
    g.node({
      id: ids.proxyListener(pl.name),
      kind: 'proxy-listener',
      label: `${pl.name} :${pl.port}`,
      detail: `${pl.name.startsWith('tcp-') ? 'TCP to its TCPRoute' : pl.tls ? 'TLS (SNI)' : 'plain HTTP'}${pl.proxyProtocol ? ', PROXY protocol required' : ''}`,
      status: 'ok',
    });
  }

  const served = new Set<string>();
  if (proxy) {
    const clusters = new Map(proxy.clusters.map((c) => [c.name, c]));
    const secrets = new Map(proxy.secrets.map((s) => [s.id, s]));
    for (const v of proxy.httpVirtualHosts) addVhost(g, 'http', v, proxies, clusters, served);
    for (const v of proxy.httpsVirtualHosts) {
      addVhost(g, 'https', v, proxies, clusters, served);
      const secret = v.secretId ? secrets.get(v.secretId) : undefined;
      const info = secret ? secretCertificate(secret) : null;
      if (secret && info) {
        const days = daysToExpiry(info.notAfter, now);
        g.node({
          id: ids.secretCertificate(secret.id),
          kind: 'certificate',
          label: info.domains[0] ?? secret.id,
          detail: `Secret ${secret.id}, ${expiryText(days)}`,
          status: expiryStatus(days),
          daysToExpiry: days,
          ...(days < EXPIRY_WARNING_DAYS ? { message: expiryText(days) } : {}),
        });
        g.edge(ids.vhost('https', v.fqdn), ids.secretCertificate(secret.id));
      }
    }
    if (proxy.fallbackCertificateId) {
      const s = secrets.get(proxy.fallbackCertificateId);
      const info = s ? secretCertificate(s) : null;
      if (s && info) {
        const days = daysToExpiry(info.notAfter, now);
        g.node({ id: ids.secretCertificate(s.id), kind: 'certificate', label: info.domains[0] ?? s.id, detail: `fallback certificate, Secret ${s.id}, ${expiryText(days)}`, status: expiryStatus(days), daysToExpiry: days });
        if (view.proxyListeners.some((p) => p.name === 'https')) g.edge(ids.proxyListener('https'), ids.secretCertificate(s.id));
      }
    }
    for (const c of proxy.clusters) addCluster(g, c);
  }

  // Every HTTPProxy, and for a root that serves nothing (invalid) a virtual
  // host in red, so the graph says why its fqdn answers 404.
  for (const p of report.httpproxies) {
    const id = ids.httpproxy(p.namespace, p.name);
    g.node({
      id,
      kind: 'httpproxy',
      label: `${p.namespace}/${p.name}`,
      detail: p.fqdn ? `${p.fqdn} · ${p.currentStatus}` : p.currentStatus,
      status: proxyStatus(p),
      ...(p.currentStatus !== 'valid' || hasWarnings(p) ? { message: p.description } : {}),
    });
    if (p.fqdn && p.currentStatus === 'invalid' && !served.has(p.fqdn.toLowerCase())) {
      const vid = ids.vhost('none', p.fqdn.toLowerCase());
      g.node({ id: vid, kind: 'vhost', label: p.fqdn.toLowerCase(), detail: 'not served', status: 'error', message: `HTTPProxy ${p.namespace}/${p.name} is invalid: ${p.description}` });
      g.edge(id, vid);
    }
  }

  return { version: view.version, generatedAt: new Date(now).toISOString(), nodes: g.nodes, edges: g.edges, summary: summarize(g.nodes, report) };
}

class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly edges: GraphEdge[] = [];
  readonly #seen = new Set<string>();
  readonly #edgeSeen = new Set<string>();

  node(n: GraphNode): void {
    if (this.#seen.has(n.id)) return;
    this.#seen.add(n.id);
    this.nodes.push(n);
  }

  has(id: string): boolean {
    return this.#seen.has(id);
  }

  edge(from: string, to: string, label?: string): void {
    const key = `${from}\n${to}`;
    if (this.#edgeSeen.has(key)) return;
    this.#edgeSeen.add(key);
    this.edges.push(label === undefined ? { from, to } : { from, to, label });
  }
}

function addLbListener(g: GraphBuilder, l: BalancerListener, service: string, status: ServiceStatus | undefined, view: EdgeView, now: number): void {
  const ls = status?.listeners.find((x) => x.port === l.servicePort);
  const targets = ls?.targets ?? l.targets.map((t) => ({ address: t.address, port: t.port, health: 'unknown' as const }));
  const problems = status?.problems ?? [];
  const errors = problems.filter((p) => p.severity === 'error');
  const unhealthy = targets.filter((t) => t.health === 'unhealthy').length;
  const healthy = targets.filter((t) => t.health === 'healthy').length;
  const st: NodeStatus = errors.length > 0 ? 'error' : problems.length > 0 || unhealthy > 0 ? 'warning' : 'ok';
  const id = ids.lbListener(l.id);
  g.node({
    id,
    kind: 'lb-listener',
    label: `${service} :${l.servicePort}`,
    detail: `${l.protocol}→${l.targetProtocol}${l.proxyProtocol ? '+PROXYv2' : ''} on ${ls?.address ?? `${l.bindAddress}:${l.bindPort}`} · targets ${healthy}/${targets.length} healthy`,
    status: st,
    ...(problems.length > 0 ? { message: problems.map((p) => `${p.severity}: ${p.message}`).join('\n') } : unhealthy > 0 ? { message: `${unhealthy} of ${targets.length} targets unhealthy` } : {}),
    targets: targets.map((t) => ({ address: t.address, port: t.port, health: t.health })),
    metrics: { listener: l.id },
  });
  for (const c of l.tls?.certificates ?? []) {
    const days = daysToExpiry(c.notAfter, now);
    g.node({
      id: ids.edgeCertificate(c.arn),
      kind: 'certificate',
      label: c.domains[0] ?? c.arn,
      detail: `${c.arn}, ${expiryText(days)}`,
      status: expiryStatus(days),
      daysToExpiry: days,
      ...(days < EXPIRY_WARNING_DAYS ? { message: expiryText(days) } : {}),
    });
    g.edge(id, ids.edgeCertificate(c.arn));
  }
  // Flows go to the proxy's own listeners, or straight to endpoints.
  const runtime = new Map(targets.map((t) => [`${t.address}:${t.port}`, t.health]));
  for (const t of l.targets) {
    if (t.kind === 'endpoint') {
      const health = runtime.get(`${t.address}:${t.port}`) ?? 'unknown';
      const eid = ids.endpoint(t.address, t.port);
      g.node({ id: eid, kind: 'endpoint', label: `${t.address}:${t.port}`, detail: 'load balancer target', status: health === 'unhealthy' ? 'error' : 'ok' });
      g.edge(id, eid, health);
    } else {
      const name = t.kind === 'proxy-port' ? (t.listener ?? '') : t.kind === 'proxy-https' ? 'https' : 'http';
      if (view.proxyListeners.some((p) => p.name === name)) g.edge(id, ids.proxyListener(name), ls?.targets.map((x) => x.health).join(', '));
    }
  }
}

function addVhost(
  g: GraphBuilder,
  listener: 'http' | 'https',
  v: VirtualHost | SecureVirtualHost,
  proxies: Map<string, HTTPProxyStatus>,
  clusters: Map<string, Cluster>,
  served: Set<string>,
): void {
  served.add(v.fqdn);
  // A port listener's host (a Gateway listener port of its own) hangs off that listener.
  const on = v.listener ?? listener;
  const id = ids.vhost(on, v.fqdn);
  const s = v as SecureVirtualHost;
  const origins = [...new Set(v.routes.map((r) => `${r.origin.namespace}/${r.origin.name}`))];
  const root = [...proxies.values()].find((p) => p.fqdn.toLowerCase() === v.fqdn);
  const related = [...(root ? [root] : []), ...origins.map((o) => proxies.get(o)).filter((p): p is HTTPProxyStatus => p !== undefined && p !== root)];
  const worst = related.find((p) => p.currentStatus !== 'valid') ?? related.find(hasWarnings);
  const policies = [v.cors ? 'CORS' : '', v.localRateLimit ? 'rate limit' : '', v.ipFilter ? 'IP filter' : '', v.jwt ? 'JWT' : ''].filter(Boolean);
  const mode = listener === 'http' ? 'plain HTTP' : s.passthrough ? 'TLS passthrough' : s.tcpProxy ? 'TLS → TCP proxy' : `TLS ${s.minVersion}–${s.maxVersion}${s.clientValidation ? ', client certificates' : ''}`;
  g.node({
    id,
    kind: 'vhost',
    label: v.fqdn,
    detail: [mode, `${v.routes.length} route${v.routes.length === 1 ? '' : 's'}`, ...policies].join(' · '),
    // An invalid root serves only its local answers (Contour's 503s).
    status: root && root.currentStatus !== 'valid' ? 'error' : worst ? 'warning' : 'ok',
    ...(worst ? { message: `HTTPProxy ${worst.namespace}/${worst.name}: ${worst.description}` } : {}),
    metrics: { vhost: v.fqdn },
  });
  g.edge(ids.proxyListener(on), id);
  for (const p of related) g.edge(ids.httpproxy(p.namespace, p.name), id);
  v.routes.forEach((r, i) => addRoute(g, on, v.fqdn, r, i, clusters));
  const tcp = s.passthrough ?? s.tcpProxy;
  if (tcp) for (const [cluster, weight] of sharesByCluster(tcp.clusters)) g.edge(id, ids.cluster(cluster), weight);
}

function addRoute(g: GraphBuilder, listener: string, fqdn: string, r: Route, index: number, clusters: Map<string, Cluster>): void {
  const id = ids.route(listener, fqdn, index);
  const a = r.action;
  const action = r.httpsRedirect
    ? '301 → https'
    : a.kind === 'redirect'
      ? `redirect ${a.statusCode}`
      : a.kind === 'direct'
        ? `direct response ${a.statusCode}`
        : a.clusters.length === 0
          ? 'no service: 503'
          : `→ ${a.clusters.length} cluster${a.clusters.length === 1 ? '' : 's'}`;
  const empty = a.kind === 'forward' && !r.httpsRedirect && a.clusters.every((c) => (clusters.get(c.cluster)?.endpoints.length ?? 0) === 0);
  const policies = [r.localRateLimit ? 'rate limit' : '', r.ipFilter ? 'IP filter' : '', r.jwt ? `JWT ${r.jwt.provider}` : '', r.websocket ? 'websocket' : ''].filter(Boolean);
  g.node({
    id,
    kind: 'route',
    label: matchText(r),
    detail: [action, ...policies, `from ${r.origin.kind ? `${r.origin.kind} ` : ''}${r.origin.namespace}/${r.origin.name}`].join(' · '),
    status: empty ? 'warning' : 'ok',
    ...(empty ? { message: 'no cluster of this route has a ready endpoint: requests get 503' } : {}),
  });
  g.edge(ids.vhost(listener, fqdn), id);
  if (a.kind === 'forward' && !r.httpsRedirect) {
    for (const [cluster, weight] of sharesByCluster(a.clusters)) g.edge(id, ids.cluster(cluster), weight);
    for (const m of a.mirrors ?? []) g.edge(id, ids.cluster(m.cluster), `mirror ${m.percent}%`);
  }
}

function addCluster(g: GraphBuilder, c: Cluster): void {
  const id = ids.cluster(c.name);
  const tls = c.tls ? (c.tls.validation ? `TLS, validated as ${c.tls.validation.subjectNames.join(' or ')}` : 'TLS, not validated') : '';
  g.node({
    id,
    kind: 'cluster',
    label: `${c.namespace}/${c.service}:${c.servicePort}`,
    detail: [c.protocol, tls, c.loadBalancer.strategy, c.slowStart ? `slow start ${c.slowStart.windowMs / 1000}s` : '', c.healthCheck ? `health check ${c.healthCheck.path}` : c.tcpHealthCheck ? 'TCP health check' : ''].filter(Boolean).join(' · '),
    status: c.endpoints.length === 0 ? 'error' : 'ok',
    ...(c.endpoints.length === 0 ? { message: 'no ready endpoint: requests routed here get 503 (no healthy upstream)' } : {}),
    // Envoy's stats name a cluster by Contour's alt_stat_name.
    metrics: { cluster: `${c.namespace}_${c.service}_${c.servicePort}` },
  });
  for (const e of c.endpoints) {
    const eid = ids.endpoint(e.address, e.port);
    g.node({ id: eid, kind: 'endpoint', label: `${e.address}:${e.port}`, detail: 'ready endpoint', status: 'ok' });
    g.edge(id, eid);
  }
}

/** A route's conditions as one short phrase: "prefix /api, header x-env = prod". */
export function matchText(r: Route): string {
  const parts = [`${r.path.kind} ${r.path.value}${r.path.segment ? ' (whole segments)' : ''}`];
  for (const h of r.headers) parts.push(`header ${h.name} ${h.kind}${h.value !== undefined ? ` ${h.value}` : ''}`);
  for (const q of r.queryParams) parts.push(`query ${q.name} ${q.kind}${q.value !== undefined ? ` ${q.value}` : ''}`);
  return parts.join(', ');
}

/** Each cluster's share of a route's traffic ("80%"), as the proxy picks:
 *  by weight, or evenly when no weight is set; one cluster named twice
 *  gets both shares. */
function sharesByCluster(list: { cluster: string; weight: number }[]): Map<string, string> {
  const positive = list.some((c) => c.weight > 0);
  const total = positive ? list.reduce((a, c) => a + Math.max(0, c.weight), 0) : list.length;
  const sums = new Map<string, number>();
  for (const c of list) sums.set(c.cluster, (sums.get(c.cluster) ?? 0) + (positive ? Math.max(0, c.weight) : 1));
  return new Map([...sums].map(([name, w]) => [name, `${Math.round((w / total) * 1000) / 10}%`]));
}

function hasWarnings(p: HTTPProxyStatus): boolean {
  return p.conditions.some((c) => (c.warnings?.length ?? 0) > 0);
}

function proxyStatus(p: HTTPProxyStatus): NodeStatus {
  if (p.currentStatus !== 'valid') return 'error';
  return hasWarnings(p) ? 'warning' : 'ok';
}

function expiryStatus(days: number): NodeStatus {
  return days < 0 ? 'error' : days < EXPIRY_WARNING_DAYS ? 'warning' : 'ok';
}

function expiryText(days: number): string {
  return days < 0 ? `expired ${-days} day${days === -1 ? '' : 's'} ago` : `expires in ${days} day${days === 1 ? '' : 's'}`;
}

function summarize(nodes: GraphNode[], report: StatusReport): EdgeGraph['summary'] {
  const count = (k: GraphNode['kind']) => nodes.filter((n) => n.kind === k).length;
  return {
    httpproxies: {
      valid: report.httpproxies.filter((p) => p.currentStatus === 'valid').length,
      invalid: report.httpproxies.filter((p) => p.currentStatus === 'invalid').length,
      orphaned: report.httpproxies.filter((p) => p.currentStatus === 'orphaned').length,
    },
    virtualHosts: nodes.filter((n) => n.kind === 'vhost' && !n.id.startsWith('vh:none/')).length,
    routes: count('route'),
    clusters: count('cluster'),
    endpoints: count('endpoint'),
    loadBalancerListeners: count('lb-listener'),
    certificatesExpiring: nodes.filter((n) => n.kind === 'certificate' && (n.daysToExpiry ?? Infinity) < EXPIRY_WARNING_DAYS).length,
  };
}

