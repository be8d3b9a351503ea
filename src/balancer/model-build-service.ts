// One Service's load balancer: runs the builders of each resource in turn
// (load balancer, ports, listener TLS, target TLS, target group, then one
// listener per port), each writing into the Service's problems, and decides
// whether the result may replace what the Service has.

import type { Service, Snapshot } from '../objects/index.ts';
import type { ServiceProblem } from '../status/index.ts';
import type { BalancerListener, LoadBalancer } from './balancer-config.ts';
import type { Annotations } from './annotations.ts';
import { bindAddressFor, buildLoadBalancer, buildLoadBalancerName, buildScheme } from './model-build-load-balancer.ts';
import { buildListenerTls, warnUnusedAlpn } from './model-build-listener-tls.ts';
import { buildTargetTls } from './model-build-target-tls.ts';
import { buildTargetGroup } from './model-build-target-group.ts';
import { warnUnusedTlvs } from './model-build-proxy-protocol.ts';
import { buildListeners, buildTcpPorts } from './model-build-listener.ts';
import { isIngressService } from './model-build-targets.ts';
import { DEFAULT_LB_ADDRESS, type BalancerModelOptions } from './model-options.ts';
import { Problems } from './model-problems.ts';
import { buildSourceRanges } from './model-build-source-ranges.ts';

export interface Built {
  lb?: LoadBalancer;
  problems: ServiceProblem[];
  /** Errors: the Service keeps its previous load balancer. */
  blocked: boolean;
}

// The order of the builders is the order of the problems in the Service's
// status: load balancer (scheme, name, source ranges), ports, TLS,
// re-encryption, target group, listeners.
export function buildService(snapshot: Snapshot, svc: Service, targetType: 'ip' | 'instance', o: BalancerModelOptions, previous?: LoadBalancer): Built {
  const ann: Annotations = svc.metadata.annotations ?? {};
  const p = new Problems(svc);
  const scheme = buildScheme(ann, previous?.scheme ?? 'internal', p);
  const name = buildLoadBalancerName(ann, o.config.aws.clusterName, svc, scheme, p);
  const sourceRanges = buildSourceRanges(svc, ann, p);
  const tcpPorts = buildTcpPorts(svc, p);
  const tls = buildListenerTls(ann, tcpPorts, o.certificates, o.now, p, o.storeProblems);
  const targetTls = buildTargetTls(ann, snapshot.secrets, svc.metadata.namespace, tls.anyTls, p);
  const targetGroup = buildTargetGroup(ann, tcpPorts, p);
  const listeners = buildListeners(
    tcpPorts,
    {
      snapshot,
      svc,
      ann,
      targetType,
      ingress: isIngressService(svc, o.config, o.proxyServices),
      proxyTargets: o.proxyTargets,
      bindAddress: bindAddressFor(scheme, o.lbAddress ?? DEFAULT_LB_ADDRESS),
      sourceRanges,
      portOffset: o.portOffset,
      ephemeralPorts: o.ephemeralPorts ?? false,
      tls,
      targetTls,
      targetGroup,
    },
    p,
  );
  warnUnusedTlvs(targetGroup.proxyProtocol, listeners, p);
  warnUnusedAlpn(tls, p);
  const lb = buildLoadBalancer(svc, name, o.config.aws.region, scheme, listeners);
  return { lb, problems: p.list, blocked: p.hasErrors || (p.holdsEdits && changesServingProtocol(previous, listeners)) };
}

/** An ssl-ports typo must not silently turn a serving TLS port into TCP. */
function changesServingProtocol(previous: LoadBalancer | undefined, listeners: BalancerListener[]): boolean {
  return previous?.listeners.some((pl) => listeners.some((l) => l.servicePort === pl.servicePort && l.protocol !== pl.protocol)) ?? false;
}
