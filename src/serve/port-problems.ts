// Port listeners the proxy workers could not bind (a port in use, a
// privileged one), shown where users look: the Gateway listener they serve
// says Programmed False with the port and why. The dag builds statuses
// before any worker binds, so the primary lays what the workers reported
// over the report it publishes.

import type { PortListener } from '../edge/index.ts';
import type { ApiCondition, StatusReport } from '../status/index.ts';

/** Which port listener serves each Gateway listener ("ns/gateway/listener"
 *  -> PortListener.name): Contour's names are the kind and the port, and a
 *  name the config does not list is one of the proxy's own listeners. */
export function portListenersOf(gateways: readonly unknown[], listeners: readonly PortListener[]): Map<string, string> {
  const names = new Set(listeners.map((l) => l.name));
  const out = new Map<string, string>();
  if (names.size === 0) return out;
  for (const g of gateways) {
    if (typeof g !== 'object' || g === null) continue;
    const o = g as { metadata?: { namespace?: unknown; name?: unknown }; spec?: { listeners?: unknown } };
    const ns = typeof o.metadata?.namespace === 'string' && o.metadata.namespace !== '' ? o.metadata.namespace : 'default';
    const gw = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
    for (const l of Array.isArray(o.spec?.listeners) ? (o.spec.listeners as unknown[]) : []) {
      if (typeof l !== 'object' || l === null) continue;
      const x = l as { name?: unknown; port?: unknown; protocol?: unknown };
      const kind = x.protocol === 'HTTP' ? 'http' : x.protocol === 'HTTPS' || x.protocol === 'TLS' ? 'https' : x.protocol === 'TCP' ? 'tcp' : undefined;
      if (kind === undefined || typeof x.port !== 'number' || typeof x.name !== 'string') continue;
      const name = `${kind}-${x.port}`;
      if (names.has(name)) out.set(`${ns}/${gw}/${x.name}`, name);
    }
  }
  return out;
}

/** The report with the listeners of unbound port listeners not programmed. */
export function withPortProblems(report: StatusReport, servedBy: ReadonlyMap<string, string>, problems: Readonly<Record<string, string>>): StatusReport {
  if (!report.gateways || Object.keys(problems).length === 0) return report;
  const gateways = report.gateways.map((g) => {
    let changed = false;
    const listeners = g.listeners.map((l) => {
      const name = servedBy.get(`${g.namespace}/${g.name}/${l.name}`);
      const why = name === undefined ? undefined : problems[name];
      if (why === undefined) return l;
      changed = true;
      const conditions = l.conditions.map((c): ApiCondition =>
        c.type === 'Programmed' ? { ...c, status: 'False', reason: 'PortUnavailable', message: `the proxy could not open port listener ${name}: ${why}` } : c,
      );
      return { ...l, conditions };
    });
    return changed ? { ...g, listeners } : g;
  });
  return { ...report, gateways };
}
