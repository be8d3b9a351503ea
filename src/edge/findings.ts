// What makes `check` (and `status`) exit 1: load errors, invalid or
// orphaned HTTPProxies, Service errors, and errors in served Ingresses
// (each means part of the Ingress is not served).

import { problemText } from '../status/index.ts';
import type { ExtensionServiceStatus, HTTPProxyStatus } from '../status/index.ts';
import type { Report } from './report.ts';
import { gatewayApiErrors, type GatewayApiError } from './gateway-findings.ts';

export interface Findings {
  invalid: HTTPProxyStatus[];
  /** ExtensionServices whose Valid condition is False. */
  invalidExtensions: ExtensionServiceStatus[];
  orphaned: HTTPProxyStatus[];
  serviceErrors: { namespace: string; name: string; message: string }[];
  ingressErrors: { namespace: string; name: string; message: string }[];
  /** Gateway API objects not accepted, not programmed or with unresolved references. */
  gatewayErrors: GatewayApiError[];
  loadErrors: number;
}

export function findings(r: Report): Findings {
  return {
    invalid: r.status.httpproxies.filter((p) => p.currentStatus === 'invalid'),
    invalidExtensions: (r.status.extensionservices ?? []).filter((e) => e.conditions[0]?.status !== 'True'),
    orphaned: r.status.httpproxies.filter((p) => p.currentStatus === 'orphaned'),
    serviceErrors: r.status.services.flatMap((s) =>
      s.problems.filter((p) => p.severity === 'error').map((p) => ({ namespace: s.namespace, name: s.name, message: problemText(p, s) })),
    ),
    ingressErrors: (r.status.ingresses ?? []).flatMap((i) =>
      i.served ? i.problems.filter((p) => p.severity === 'error').map((p) => ({ namespace: i.namespace, name: i.name, message: p.field && !p.message.includes(p.field) ? `${p.field}: ${p.message}` : p.message })) : [],
    ),
    gatewayErrors: gatewayApiErrors(r.status),
    loadErrors: r.load.errors.length,
  };
}

export function hasFindings(f: Findings): boolean {
  return f.invalid.length + f.invalidExtensions.length + f.orphaned.length + f.serviceErrors.length + f.ingressErrors.length + f.gatewayErrors.length + f.loadErrors > 0;
}
