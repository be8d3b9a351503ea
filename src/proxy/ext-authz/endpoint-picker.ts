// Which authorization server endpoint answers the next Check: a Service
// of `services[]` by weight (smooth weighted round robin, equal shares
// when no weight is set), then an endpoint of it by the ExtensionService's
// load balancer strategy.
import type { AuthzEndpoint, AuthzLoadBalancer, AuthzServiceGroup } from './types.ts';

interface Group {
  weight: number;
  current: number;
  endpoints: AuthzEndpoint[];
  next: number;
}

export class EndpointPicker {
  readonly #groups: Group[];
  readonly #strategy: AuthzLoadBalancer;
  readonly #active: (e: AuthzEndpoint) => number;
  readonly #random: () => number;

  /** `active` reports the in-flight Checks of an endpoint (for WeightedLeastRequest). */
  constructor(services: AuthzServiceGroup[], strategy: AuthzLoadBalancer, active: (e: AuthzEndpoint) => number, random: () => number = Math.random) {
    const weighted = services.some((s) => s.weight > 0);
    this.#groups = services
      .filter((s) => s.endpoints.length > 0 && (!weighted || s.weight > 0))
      .map((s) => ({ weight: weighted ? s.weight : 1, current: 0, endpoints: s.endpoints, next: 0 }));
    this.#strategy = strategy;
    this.#active = active;
    this.#random = random;
  }

  /** undefined when no Service has an endpoint. */
  pick(): AuthzEndpoint | undefined {
    const g = this.#group();
    if (!g) return undefined;
    const eps = g.endpoints;
    if (eps.length === 1) return eps[0];
    switch (this.#strategy) {
      case 'Random':
        return eps[Math.floor(this.#random() * eps.length)];
      case 'WeightedLeastRequest': {
        // Envoy's power of two choices.
        const a = eps[Math.floor(this.#random() * eps.length)]!;
        const b = eps[Math.floor(this.#random() * eps.length)]!;
        return this.#active(b) < this.#active(a) ? b : a;
      }
      default: {
        const e = eps[g.next % eps.length];
        g.next = (g.next + 1) % eps.length;
        return e;
      }
    }
  }

  #group(): Group | undefined {
    const groups = this.#groups;
    if (groups.length <= 1) return groups[0];
    let total = 0;
    let best: Group | undefined;
    for (const g of groups) {
      g.current += g.weight;
      total += g.weight;
      if (!best || g.current > best.current) best = g;
    }
    best!.current -= total;
    return best;
  }
}
