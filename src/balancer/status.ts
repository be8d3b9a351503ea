// Merges what the runtime knows (bound address, target health, problems)
// into the model's Service statuses, for `isobar status` and the status
// sinks while `serve` runs.

import type { ServiceStatus } from '../status/index.ts';
import type { BalancerConfig } from './balancer-config.ts';
import type { ListenerHealth } from './runtime.ts';

export function withRuntimeHealth(
  statuses: ServiceStatus[],
  config: BalancerConfig,
  health: { listeners: Record<string, ListenerHealth> },
): ServiceStatus[] {
  return statuses.map((st) => {
    const lb = config.loadBalancers.find((l) => l.namespace === st.namespace && l.name === st.name);
    if (!lb) return st;
    const out: ServiceStatus = structuredClone(st);
    for (const ls of out.listeners) {
      const l = lb.listeners.find((x) => x.servicePort === ls.port);
      const h = l ? health.listeners[l.id] : undefined;
      if (!l || !h) continue;
      if (h.address) ls.address = `${h.address.address.includes(':') ? `[${h.address.address}]` : h.address.address}:${h.address.port}`;
      ls.targets = h.targets.map((t) => ({ address: t.address, port: t.port, health: t.health }));
      ls.refusedConnections = h.refused;
      for (const p of h.problems) out.problems.push({ severity: 'error', message: `Service ${st.namespace}/${st.name}: ${p}` });
      if (!h.bound && h.problems.length === 0) {
        out.problems.push({ severity: 'error', message: `Service ${st.namespace}/${st.name}: listener for port ${ls.port} is not listening` });
      }
    }
    return out;
  });
}
