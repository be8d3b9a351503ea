// A Service whose new build has errors keeps its last good load balancer,
// with targets, certificate contents and source ranges refreshed from the
// current snapshot (targets, renewed certificates and a valid change of who
// may connect keep flowing while an annotation error blocks the rest; ranges
// that do not build leave the last good ones in place).

import type { Service, Snapshot } from '../objects/index.ts';
import type { ServiceProblem } from '../status/index.ts';
import type { LoadBalancer } from './balancer-config.ts';
import { isIngressService, targetsFor } from './model-build-targets.ts';
import type { BalancerModelOptions } from './model-options.ts';
import { Problems } from './model-problems.ts';
import { buildSourceRanges } from './model-build-source-ranges.ts';

export function keepPrevious(snapshot: Snapshot, svc: Service, prev: LoadBalancer, problems: ServiceProblem[], o: BalancerModelOptions): LoadBalancer {
  let lb: LoadBalancer;
  try {
    lb = refreshPrevious(snapshot, svc, prev, o);
  } catch {
    lb = structuredClone(prev);
  }
  problems.push({
    severity: 'warning',
    message: `Service ${svc.metadata.namespace}/${svc.metadata.name}: kept the last good load balancer (${lb.listeners.map((l) => `${l.protocol}:${l.servicePort}`).join(', ') || 'no listeners'}) until the errors are fixed`,
  });
  return lb;
}

function refreshPrevious(snapshot: Snapshot, svc: Service, prev: LoadBalancer, o: BalancerModelOptions): LoadBalancer {
  const lb: LoadBalancer = structuredClone(prev);
  const rangeProblems = new Problems(svc);
  const sourceRanges = buildSourceRanges(svc, svc.metadata.annotations ?? {}, rangeProblems);
  for (const l of lb.listeners) {
    if (!rangeProblems.hasErrors) l.sourceRanges = [...sourceRanges];
    const sp = (svc.spec.ports ?? []).find((x) => x && x.port === l.servicePort && (x.protocol ?? 'TCP') === 'TCP');
    if (sp) l.targets = targetsFor(snapshot, svc, sp, isIngressService(svc, o.config), o.proxyTargets);
    if (l.tls) l.tls.certificates = l.tls.certificates.map((c) => o.certificates.find((n) => n.arn === c.arn && !n.unissued) ?? c);
  }
  return lb;
}
