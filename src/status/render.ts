// Rendering a StatusReport: `-o json` and `-o yaml` print exactly the
// contract in types.ts (DESIGN.md); `-o table` looks like
// `kubectl get httpproxy -A` followed by `kubectl get svc -A`.

import { stringify } from 'yaml';
import type { HTTPProxyStatus, ServiceProblem, ServiceStatus, StatusReport } from './types.ts';
import { byNamespaceName, formatIssue, type LoadIssue, type Service } from '../objects/index.ts';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];



/** The report with exactly the contract's keys, in the contract's order,
 *  both lists sorted by namespace then name. */
export function contractReport(report: StatusReport): StatusReport {
  const out: StatusReport = {
    httpproxies: [...report.httpproxies].sort(byNamespaceName).map((p) => ({
      namespace: p.namespace,
      name: p.name,
      fqdn: p.fqdn,
      currentStatus: p.currentStatus,
      description: p.description,
      conditions: p.conditions,
    })),
    services: [...report.services].sort(byNamespaceName).map((s) => ({
      namespace: s.namespace,
      name: s.name,
      listeners: s.listeners,
      ingress: s.ingress,
      problems: s.problems,
    })),
  };
  const ext = report.extensionservices ?? [];
  if (ext.length > 0) out.extensionservices = [...ext].sort(byNamespaceName).map((e) => ({ namespace: e.namespace, name: e.name, conditions: e.conditions }));
  // The Gateway API arrays are there whenever the snapshot held Gateway API objects.
  if (report.gatewayclasses) out.gatewayclasses = [...report.gatewayclasses].sort(byNamespaceName);
  if (report.gateways) out.gateways = [...report.gateways].sort(byNamespaceName);
  if (report.httproutes) out.httproutes = [...report.httproutes].sort(byNamespaceName);
  if (report.grpcroutes) out.grpcroutes = [...report.grpcroutes].sort(byNamespaceName);
  if (report.tlsroutes) out.tlsroutes = [...report.tlsroutes].sort(byNamespaceName);
  if (report.tcproutes) out.tcproutes = [...report.tcproutes].sort(byNamespaceName);
  const ing = report.ingresses ?? [];
  if (ing.length > 0) {
    out.ingresses = [...ing].sort(byNamespaceName).map((i) => ({
      namespace: i.namespace,
      name: i.name,
      className: i.className,
      served: i.served,
      hosts: i.hosts,
      ports: i.ports,
      loadBalancer: i.loadBalancer,
      problems: i.problems,
    }));
  }
  if (report.backendtlspolicies) out.backendtlspolicies = [...report.backendtlspolicies].sort(byNamespaceName);
  return out;
}

export function renderJson(report: StatusReport): string {
  return `${JSON.stringify(contractReport(report), null, 2)}\n`;
}

export function renderYaml(report: StatusReport): string {
  return stringify(contractReport(report), { lineWidth: 0, aliasDuplicateObjects: false });
}

export interface TableContext {
  /** The Service objects, for TYPE, CLUSTER-IP and PORT(S). */
  services?: readonly Service[];
}

export function renderTable(report: StatusReport, ctx: TableContext = {}): string {
  const out: string[] = [];
  const proxies = [...report.httpproxies].sort(byNamespaceName);
  if (proxies.length === 0) out.push('No HTTPProxies found.');
  else {
    out.push(
      ...columns([
        ['NAMESPACE', 'NAME', 'FQDN', 'TLS SECRET', 'STATUS', 'STATUS DESCRIPTION'],
        ...proxies.map((p: HTTPProxyStatus) => [p.namespace, p.name, p.fqdn, p.tlsSecret ?? '', p.currentStatus, p.description]),
      ]),
    );
  }
  const extensions = [...(report.extensionservices ?? [])].sort(byNamespaceName);
  if (extensions.length > 0) {
    out.push('');
    out.push(
      ...columns([
        ['NAMESPACE', 'NAME', 'STATUS', 'STATUS DESCRIPTION'],
        ...extensions.map((e) => {
          const c = e.conditions[0];
          const valid = c?.status === 'True';
          return [e.namespace, e.name, valid ? 'valid' : 'invalid', valid ? (c?.message ?? '') : (c?.errors?.[0]?.message ?? c?.message ?? '')];
        }),
      ]),
    );
  }
  const ingresses = [...(report.ingresses ?? [])].sort(byNamespaceName);
  if (ingresses.length > 0) {
    out.push('');
    // kubectl get ingress -A, without AGE (a folder has no creation times)
    out.push(
      ...columns([
        ['NAMESPACE', 'NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS'],
        ...ingresses.map((i) => [
          i.namespace,
          i.name,
          i.className || '<none>',
          i.hosts.join(','),
          i.loadBalancer.ingress.map((e) => e.hostname || e.ip || '').filter(Boolean).join(','),
          i.ports.join(', '),
        ]),
      ]),
    );
    const problems = ingresses.flatMap((i) => i.problems.map((p) => `${i.namespace}/${i.name}: ${p.severity}: ${p.field && !p.message.includes(p.field) ? `${p.field}: ` : ''}${p.message}`));
    if (problems.length > 0) {
      out.push('');
      out.push('INGRESS PROBLEMS');
      out.push(...problems);
    }
  }
  out.push(...gatewayApiTables(report));
  out.push('');
  const services = [...report.services].sort(byNamespaceName);
  if (services.length === 0) out.push('No load balancer Services found.');
  else {
    const objects = new Map<string, Service>();
    for (const s of ctx.services ?? []) objects.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
    out.push(
      ...columns([
        ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'],
        ...services.map((s) => serviceRow(s, objects.get(`${s.namespace}/${s.name}`))),
      ]),
    );
    const listeners = services.flatMap((s) => s.listeners.map((l) => ({ s, l })));
    if (listeners.length > 0) {
      out.push('');
      out.push(
        ...columns([
          ['NAMESPACE', 'NAME', 'PORT', 'LISTENER', 'PROTOCOL', 'CERTIFICATE', 'SOURCE RANGES', 'TARGETS'],
          ...listeners.map(({ s, l }) => [
            s.namespace,
            s.name,
            String(l.port),
            l.address,
            `${l.protocol}->${l.targetProtocol}${l.proxyProtocol ? '+PROXYv2' : ''}`,
            l.certificates[0] ?? '<none>',
            l.sourceRanges.length === 0 ? '<none>' : l.sourceRanges.join(','),
            l.targets.length === 0 ? '<none>' : l.targets.map((t) => `${t.address}:${t.port}(${t.health})`).join(','),
          ]),
        ]),
      );
    }
    const problems = services.flatMap((s) => s.problems.map((p) => `${s.namespace}/${s.name}: ${p.severity}: ${problemText(p, s)}`));
    if (problems.length > 0) {
      out.push('');
      out.push('PROBLEMS');
      out.push(...problems);
    }
  }
  return `${out.join('\n')}\n`;
}

function serviceRow(s: ServiceStatus, obj: Service | undefined): string[] {
  const type = obj?.spec?.type ?? 'ClusterIP';
  const clusterIp = obj?.spec?.clusterIP || '<none>';
  const external = s.ingress.length > 0 ? s.ingress.map((i) => i.hostname || i.ip).join(',') : type === 'LoadBalancer' ? '<pending>' : '<none>';
  const ports = (obj?.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`);
  const listenerPorts = s.listeners.map((l) => `${l.port}/TCP`);
  return [s.namespace, s.name, type, clusterIp, external, (ports.length ? ports : listenerPorts).join(',') || '<none>'];
}

/** A Service problem as one phrase: the field first unless the message
 *  already names it. */
export function problemText(p: ServiceProblem, service?: { namespace: string; name: string }): string {
  let message = p.message;
  // printed after the Service's name already
  const self = service ? `Service ${service.namespace}/${service.name}: ` : undefined;
  if (self && message.startsWith(self)) message = message.slice(self.length);
  return p.field && !message.includes(p.field) ? `${p.field}: ${message}` : message;
}

/** kubectl's tabwriter look: columns padded to the widest cell + 3. */
function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd());
}

/** Load problems as stderr lines: `file:line: message`, warnings marked. */
export function renderIssues(errors: readonly LoadIssue[], warnings: readonly LoadIssue[]): string {
  const lines = [...errors.map(formatIssue), ...warnings.map((w) => formatIssue({ ...w, message: `warning: ${w.message}` }))];
  return lines.length ? `${lines.join('\n')}\n` : '';
}

const conditionOf = (conds: { type: string; status: string; reason: string }[], type: string): string => {
  const c = conds.find((x) => x.type === type);
  return c ? (c.status === 'True' ? 'True' : `${c.status} (${c.reason})`) : 'Unknown';
};

/** kubectl get gateway -A / httproute -A / ... without AGE, with the
 *  conditions that say whether each is served. */
function gatewayApiTables(report: StatusReport): string[] {
  const out: string[] = [];
  const gateways = [...(report.gateways ?? [])].sort(byNamespaceName);
  if (gateways.length > 0) {
    out.push('');
    out.push(
      ...columns([
        ['NAMESPACE', 'GATEWAY', 'ADDRESS', 'ACCEPTED', 'PROGRAMMED', 'LISTENERS (ATTACHED ROUTES)'],
        ...gateways.map((g) => [
          g.namespace,
          g.name,
          g.addresses.map((a) => a.value).join(','),
          conditionOf(g.conditions, 'Accepted'),
          conditionOf(g.conditions, 'Programmed'),
          g.listeners.map((l) => `${l.name}${conditionOf(l.conditions, 'Programmed') === 'True' ? '' : ' (not programmed)'} (${l.attachedRoutes})`).join(', '),
        ]),
      ]),
    );
  }
  const routes = [
    ...(report.httproutes ?? []).map((r) => ({ kind: 'HTTPRoute', r })),
    ...(report.grpcroutes ?? []).map((r) => ({ kind: 'GRPCRoute', r })),
    ...(report.tlsroutes ?? []).map((r) => ({ kind: 'TLSRoute', r })),
    ...(report.tcproutes ?? []).map((r) => ({ kind: 'TCPRoute', r })),
  ];
  if (routes.length > 0) {
    out.push('');
    const rows: string[][] = [['NAMESPACE', 'ROUTE', 'KIND', 'PARENT', 'ACCEPTED', 'RESOLVED REFS']];
    for (const { kind, r } of routes.sort((a, b) => byNamespaceName(a.r, b.r) || (a.kind < b.kind ? -1 : 1))) {
      for (const p of r.parents) {
        const parent = `${p.parentRef.namespace}/${p.parentRef.name}${p.parentRef.sectionName ? `/${p.parentRef.sectionName}` : ''}`;
        rows.push([r.namespace, r.name, kind, parent, conditionOf(p.conditions, 'Accepted'), conditionOf(p.conditions, 'ResolvedRefs')]);
      }
    }
    out.push(...columns(rows));
  }
  const policies = [...(report.backendtlspolicies ?? [])].sort(byNamespaceName);
  if (policies.length > 0) {
    out.push('');
    const rows: string[][] = [['NAMESPACE', 'BACKENDTLSPOLICY', 'ANCESTOR', 'ACCEPTED', 'RESOLVED REFS']];
    for (const p of policies) {
      if (p.ancestors.length === 0) rows.push([p.namespace, p.name, '<none>', '', '']);
      for (const a of p.ancestors) rows.push([p.namespace, p.name, `${a.ancestorRef.namespace}/${a.ancestorRef.name}`, conditionOf(a.conditions, 'Accepted'), conditionOf(a.conditions, 'ResolvedRefs')]);
    }
    out.push(...columns(rows));
  }
  return out;
}
