// What a click on the page shows: one graph node's conditions (the
// HTTPProxy's Contour status, the Service's problems) and its part of the
// config, redacted as `isobar config` prints it: no private key ever
// leaves the admin server, whatever the node.
import { redactProxyConfig, type ProxyConfig, type SecureVirtualHost, type VirtualHost } from '../dag/index.ts';
import type { BalancerListener } from '../balancer/index.ts';
import type { HTTPProxyStatus, StatusReport } from '../status/index.ts';
import { secretCertificate } from './certificate-info.ts';
import type { EdgeView } from './edge-view.ts';
import { ids } from './graph.ts';
import { scrubKeys } from './scrub-keys.ts';

export interface ObjectDetail {
  id: string;
  /** Contour's conditions of the HTTPProxies behind this object. */
  httpproxies?: HTTPProxyStatus[];
  /** The Service's problems (load balancer listeners). */
  problems?: { severity: string; field?: string; message: string }[];
  /** This object's part of the running config, redacted. */
  config?: unknown;
}

const redacted = new WeakMap<ProxyConfig, ProxyConfig>();

function safeProxyConfig(c: ProxyConfig): ProxyConfig {
  let r = redacted.get(c);
  if (!r) redacted.set(c, (r = redactProxyConfig(c)));
  return r;
}

export function objectDetail(id: string, view: EdgeView, report: StatusReport): ObjectDetail | undefined {
  const detail = find(id, view, report);
  return detail === undefined ? undefined : scrubKeys(detail);
}

function find(id: string, view: EdgeView, report: StatusReport): ObjectDetail | undefined {
  const proxy = view.proxyConfig ? safeProxyConfig(view.proxyConfig) : undefined;
  const statusOf = (namespace: string, name: string) => report.httpproxies.find((p) => p.namespace === namespace && p.name === name);
  const vhosts: { listener: 'http' | 'https'; v: VirtualHost | SecureVirtualHost }[] = [
    ...(proxy?.httpVirtualHosts ?? []).map((v) => ({ listener: 'http' as const, v })),
    ...(proxy?.httpsVirtualHosts ?? []).map((v) => ({ listener: 'https' as const, v })),
  ];
  const proxiesOf = (v: VirtualHost): HTTPProxyStatus[] => {
    const names = new Set(v.routes.filter((r) => !r.origin.kind).map((r) => `${r.origin.namespace}/${r.origin.name}`));
    return report.httpproxies.filter((p) => p.fqdn.toLowerCase() === v.fqdn || names.has(`${p.namespace}/${p.name}`));
  };

  for (const lb of view.balancerConfig?.loadBalancers ?? []) {
    for (const l of lb.listeners) {
      if (ids.lbListener(l.id) !== id) continue;
      const status = report.services.find((s) => s.namespace === lb.namespace && s.name === lb.name);
      return { id, problems: status?.problems ?? [], config: { loadBalancer: { namespace: lb.namespace, name: lb.name, hostname: lb.hostname, scheme: lb.scheme }, listener: shortPems(l), status: status?.listeners.find((x) => x.port === l.servicePort) } };
    }
  }
  for (const pl of view.proxyListeners) if (ids.proxyListener(pl.name) === id) return { id, config: pl };
  for (const { listener, v } of vhosts) {
    if (ids.vhost(listener, v.fqdn) === id) return { id, httpproxies: proxiesOf(v), config: v };
    for (let i = 0; i < v.routes.length; i++) {
      if (ids.route(listener, v.fqdn, i) !== id) continue;
      const r = v.routes[i]!;
      const origin = r.origin.kind ? undefined : statusOf(r.origin.namespace, r.origin.name);
      return { id, httpproxies: origin ? [origin] : [], config: r };
    }
  }
  for (const c of proxy?.clusters ?? []) if (ids.cluster(c.name) === id) return { id, config: c };
  for (const p of report.httpproxies) {
    if (ids.httpproxy(p.namespace, p.name) === id || (p.fqdn && ids.vhost('none', p.fqdn.toLowerCase()) === id)) {
      const serves = vhosts.filter(({ v }) => proxiesOf(v).includes(p)).map(({ listener, v }) => ids.vhost(listener, v.fqdn));
      return { id, httpproxies: [p], config: { virtualHosts: serves } };
    }
  }
  for (const c of view.balancerConfig?.loadBalancers.flatMap((lb) => lb.listeners.flatMap((l) => (l.tls?.certificates ?? []).map((cert) => ({ cert, l })))) ?? []) {
    if (ids.edgeCertificate(c.cert.arn) !== id) continue;
    const users = (view.balancerConfig?.loadBalancers ?? []).flatMap((lb) => lb.listeners.filter((l) => l.tls?.certificates.some((x) => x.arn === c.cert.arn)).map((l) => l.id));
    return { id, config: { arn: c.cert.arn, domains: c.cert.domains, notAfter: c.cert.notAfter, listeners: users } };
  }
  for (const s of view.proxyConfig?.secrets ?? []) {
    if (ids.secretCertificate(s.id) !== id) continue;
    const info = secretCertificate(s);
    const users = (proxy?.httpsVirtualHosts ?? []).filter((v) => v.secretId === s.id).map((v) => v.fqdn);
    return { id, config: { secret: s.id, domains: info?.domains ?? [], notAfter: info?.notAfter, virtualHosts: users, fallback: proxy?.fallbackCertificateId === s.id } };
  }
  if (id.startsWith('ep:')) {
    const address = id.slice(3);
    const clusters = (proxy?.clusters ?? []).filter((c) => c.endpoints.some((e) => ids.endpoint(e.address, e.port) === id)).map((c) => c.name);
    const listeners = (view.balancerConfig?.loadBalancers ?? []).flatMap((lb) => lb.listeners.filter((l) => l.targets.some((t) => t.kind === 'endpoint' && ids.endpoint(t.address, t.port) === id)).map((l) => l.id));
    if (clusters.length + listeners.length > 0) return { id, config: { endpoint: address, clusters, loadBalancerListeners: listeners } };
  }
  return undefined;
}

/** Edge certificates are public, but a panel of PEM is no help to read. */
function shortPems(l: BalancerListener): unknown {
  if (!l.tls) return l;
  return {
    ...l,
    tls: { ...l.tls, certificates: l.tls.certificates.map((c) => ({ arn: c.arn, domains: c.domains, notAfter: c.notAfter, certPem: `[PEM, ${c.certPem.length} bytes]` })) },
  };
}
