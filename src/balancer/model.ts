// The balancer model: Services + certificate store contents -> BalancerConfig
// and Service statuses, following the AWS load balancer controller's rules
// (see the project's nlb-semantics notes) with isobar's documented
// differences. Pure: no I/O, no clock, no randomness; never throws on input.
//
// One builder file per output resource, as the controller's model_build_*.go
// files: model-build-load-balancer, -listener, -listener-tls, -target-tls,
// -target-group (with -target-group-attributes, -proxy-protocol,
// -health-check), -targets. model-build-service runs them for one Service;
// this file runs that across Services, then gives each socket one owner
// (model-claim-sockets).

import { byNamespaceName, type Service, type Snapshot } from '../objects/index.ts';
import type { ServiceProblem } from '../status/index.ts';
import type { LoadBalancer } from './balancer-config.ts';
import { handling } from './model-handling.ts';
import { buildService, type Built } from './model-build-service.ts';
import { buildServiceStatus } from './model-build-status.ts';
import { keepPrevious } from './model-keep-previous.ts';
import { claimSockets } from './model-claim-sockets.ts';
import { DEFAULT_LB_ADDRESS, type BalancerModelOptions, type BalancerModelResult } from './model-options.ts';

interface Entry {
  svc: Service;
  lb?: LoadBalancer;
  problems: ServiceProblem[];
}

export function buildBalancerModel(snapshot: Snapshot, o: BalancerModelOptions): BalancerModelResult {
  const services = [...snapshot.services].sort((a, b) => byNamespaceName(a.metadata, b.metadata));
  const entries: Entry[] = [];
  for (const svc of services) {
    const e = buildEntry(snapshot, svc, o);
    if (e) entries.push(e);
  }
  claimSockets(entries, o.previous);
  const loadBalancers = entries.flatMap((e) => (e.lb ? [e.lb] : []));
  const statuses = entries.map((e) => buildServiceStatus(e.svc, e.lb, e.problems, o.lbAddress ?? DEFAULT_LB_ADDRESS));
  return { balancerConfig: { loadBalancers }, statuses };
}

/** A taken Service's load balancer (or the last good one) and problems; a
 *  Service the balancer does not take has an entry only to carry a warning. */
function buildEntry(snapshot: Snapshot, svc: Service, o: BalancerModelOptions): Entry | undefined {
  let h: ReturnType<typeof handling>;
  try {
    h = handling(svc);
  } catch {
    return undefined; // not a Service shape the balancer can read at all
  }
  if (!h.handled) {
    if (!h.warning) return undefined;
    const message = `Service ${svc.metadata.namespace}/${svc.metadata.name}: annotation ${h.warning.field}: ${h.warning.message}`;
    return { svc, problems: [{ severity: 'warning', field: h.warning.field, message }] };
  }
  const prev = o.previous?.loadBalancers.find((l) => l.namespace === svc.metadata.namespace && l.name === svc.metadata.name);
  let built: Built;
  try {
    built = buildService(snapshot, svc, h.targetType, o, prev);
  } catch (err) {
    // Defensive: a shape no validator caught must not take the others down.
    const message = `Service ${svc.metadata.namespace}/${svc.metadata.name}: cannot be read (${err instanceof Error ? err.message : String(err)})`;
    built = { problems: [{ severity: 'error', message }], blocked: true };
  }
  if (!built.blocked) return { svc, lb: built.lb, problems: built.problems };
  if (!prev) return { svc, problems: built.problems };
  return { svc, lb: keepPrevious(snapshot, svc, prev, built.problems, o), problems: built.problems };
}
