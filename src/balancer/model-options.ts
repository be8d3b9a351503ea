// What the balancer model takes besides the snapshot, and what it returns.

import type { IsobarConfig } from '../config/index.ts';
import type { ServiceStatus } from '../status/index.ts';
import type { BalancerConfig, EdgeCertificate } from './balancer-config.ts';
import type { ProxyTargets } from './model-build-targets.ts';

/** A certificate store file that could not be read, so a certificate it
 *  holds is missing from `certificates` (metadata only, never key material). */
export interface CertificateStoreProblem {
  file: string;
  message: string;
  /** The id part of the ARN the file is stored under. */
  certificateId?: string;
  /** Nothing in the store could be read (master.key missing or damaged). */
  wholeStore?: boolean;
}

export interface BalancerModelOptions {
  config: IsobarConfig;
  certificates: EdgeCertificate[];
  /** Why certificates may be missing: a Service that names one is told
   *  the store is damaged rather than to add the certificate. */
  storeProblems?: CertificateStoreProblem[];
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
  /** Services ("namespace/name") that front isobar's own proxy besides
   *  config ingress.service: the load balancers Gateways ask for. */
  proxyServices?: ReadonlySet<string>;
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
