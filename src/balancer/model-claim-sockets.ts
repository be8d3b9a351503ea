// One socket per address:port. On AWS every Service has a load balancer of
// its own; here load balancers share addresses, so two Services can ask for
// the same socket. A conflict never moves a running listener: the listener
// that holds the socket in the config being replaced keeps it. Otherwise
// (the first build, `isobar check`) the older Service by
// metadata.creationTimestamp keeps it, then the first by namespace/name; a
// Service without a timestamp counts as the newest. The others get the
// problem, naming who holds the socket and why.

import { byNamespaceName, type Service } from '../objects/index.ts';
import type { ServiceProblem } from '../status/index.ts';
import type { BalancerConfig, BalancerListener, LoadBalancer } from './balancer-config.ts';

export interface Claimant {
  svc: Service;
  lb?: LoadBalancer;
  problems: ServiceProblem[];
}

interface Holder {
  listenerId: string;
  claimant: Claimant;
  running: boolean;
}

export function claimSockets(claimants: Claimant[], previous: BalancerConfig | undefined): void {
  const holders = new Map<string, Holder>();
  // 1. Sockets that listeners already hold, while they still want them.
  const running = new Map<string, string>();
  for (const lb of previous?.loadBalancers ?? []) for (const l of lb.listeners) if (l.bindPort !== 0) running.set(socketOf(l), l.id);
  for (const c of claimants) {
    for (const l of c.lb?.listeners ?? []) {
      const socket = socketOf(l);
      if (l.bindPort !== 0 && running.get(socket) === l.id && !holders.has(socket)) holders.set(socket, { listenerId: l.id, claimant: c, running: true });
    }
  }
  // 2. The rest, oldest Service first.
  for (const c of [...claimants].sort(byAge)) {
    if (!c.lb) continue;
    c.lb.listeners = c.lb.listeners.filter((l) => {
      if (l.bindPort === 0) return true;
      const socket = socketOf(l);
      const holder = holders.get(socket);
      if (holder === undefined) {
        holders.set(socket, { listenerId: l.id, claimant: c, running: false });
        return true;
      }
      if (holder.claimant === c && holder.listenerId === l.id) return true;
      const { namespace, name } = c.svc.metadata;
      c.problems.push({
        severity: 'error',
        field: 'spec.ports',
        message: `Service ${namespace}/${name}: port ${l.servicePort} would listen on ${socket}, which ${holder.listenerId} holds (${why(holder, c)}); this listener is not created`,
      });
      return false;
    });
  }
}

function socketOf(l: BalancerListener): string {
  const host = l.bindAddress.includes(':') ? `[${l.bindAddress}]` : l.bindAddress;
  return `${host}:${l.bindPort}`;
}

function why(holder: Holder, loser: Claimant): string {
  if (holder.running) return 'it is already listening there';
  const h = holder.claimant.svc.metadata;
  return createdAt(holder.claimant) < createdAt(loser) ? `Service ${h.namespace}/${h.name} is older by creationTimestamp` : `Service ${h.namespace}/${h.name} comes first by namespace/name`;
}

function byAge(a: Claimant, b: Claimant): number {
  return createdAt(a) - createdAt(b) || byNamespaceName(a.svc.metadata, b.svc.metadata);
}

/** Milliseconds since the epoch; no (or an unreadable) timestamp: newest. */
function createdAt(c: Claimant): number {
  const t = c.svc.metadata.creationTimestamp;
  const ms = typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : Number.MAX_SAFE_INTEGER;
}
