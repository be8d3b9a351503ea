// Status changes in the primary's log: one line when an HTTPProxy's status
// changes, one when a Service problem or a problem of an Ingress isobar
// serves appears. Unchanged statuses are not
// logged again on every reload.

import type pino from 'pino';
import type { StatusReport } from '../status/index.ts';

/** Logs what differs from `previous`; returns what to compare with next time. */
export function logStatusChanges(logger: pino.Logger, report: StatusReport, previous: Map<string, string>): Map<string, string> {
  const next = new Map<string, string>();
  for (const p of report.httpproxies) {
    const key = `httpproxy ${p.namespace}/${p.name}`;
    const line = `${p.currentStatus}: ${p.description}`;
    next.set(key, line);
    if (previous.get(key) !== line) {
      const level = p.currentStatus === 'valid' ? 'info' : 'warn';
      logger[level]({ httpproxy: `${p.namespace}/${p.name}`, fqdn: p.fqdn, status: p.currentStatus }, `HTTPProxy ${p.namespace}/${p.name} ${line}`);
    }
  }
  for (const s of report.services) {
    for (const prob of s.problems) {
      const key = `service ${s.namespace}/${s.name} ${prob.field ?? ''} ${prob.message}`;
      next.set(key, prob.severity);
      if (!previous.has(key)) logger[prob.severity === 'error' ? 'error' : 'warn']({ service: `${s.namespace}/${s.name}`, field: prob.field }, prob.message);
    }
  }
  for (const i of report.ingresses ?? []) {
    if (!i.served) continue;
    for (const prob of i.problems) {
      const key = `ingress ${i.namespace}/${i.name} ${prob.field ?? ''} ${prob.message}`;
      next.set(key, prob.severity);
      if (!previous.has(key)) {
        logger[prob.severity === 'error' ? 'error' : 'warn']({ ingress: `${i.namespace}/${i.name}`, field: prob.field }, `Ingress ${i.namespace}/${i.name}: ${prob.field ? `${prob.field}: ` : ''}${prob.message}`);
      }
    }
  }
  return next;
}
