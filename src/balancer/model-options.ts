// What the balancer model takes besides the snapshot, and what it returns.

import type { IsobarConfig } from '../config/index.ts';
import type { ServiceStatus } from '../status/index.ts';
import type { BalancerConfig, EdgeCertificate } from './balancer-config.ts';
import type { ProxyTargets } from './model-build-targets.ts';

export interface BalancerModelOptions {
  config: IsobarConfig;
  certificates: EdgeCertificate[];
  /** Where internet-facing listeners bind; default 127.0.0.1. Internal
   *  ones bind loopback whatever this says. */
  lbAddress?: string;
  /** bindPort = Service port + portOffset. */
  portOffset: number;
  /** The last config applied: a Service whose annotations no longer build
   *  keeps its load balancer from here. */
  previous?: BalancerConfig;
  /** Where isobar's own proxy listens (shown in status; the runtime resolves
   *  proxy targets itself). */
  proxyTargets?: ProxyTargets;
  /** Bind every listener on an ephemeral port (bindPort 0), for tests. */
  ephemeralPorts?: boolean;
  /** The current time (ISO 8601 or ms), passed in to keep the model pure:
   *  certificates in use that expire within 30 days get a warning. */
  now?: string | number;
}

export interface BalancerModelResult {
  balancerConfig: BalancerConfig;
  statuses: ServiceStatus[];
}

export const DEFAULT_LB_ADDRESS = '127.0.0.1';
