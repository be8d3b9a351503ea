// What `serve` is given (the CLI's flags, parsed and checked) and what it
// hands back.

import type pino from 'pino';
import type { IsobarConfig } from '../config/index.ts';
import type { StatusUpdate } from '../metrics/index.ts';
import type { ObjectCache } from '../objects/index.ts';
import type { StatusReport } from '../status/index.ts';
import type { LogFormat } from './logger.ts';
import type { Source } from './source.ts';
import type { ProxySettings } from './start-proxy.ts';

export type Role = 'dag' | 'proxy' | 'balancer';

export interface ServeOptions {
  dir?: string;
  config: IsobarConfig;
  configPath?: string;
  stateDir: string;
  roles: Set<Role>;
  workers: number | undefined;
  httpPort: number;
  httpsPort: number;
  /** Where the proxy's public listeners (HTTP, HTTPS, Gateway port
   *  listeners) bind; 0.0.0.0 as Contour's Envoy by default. */
  proxyAddress: string;
  lbAddress: string;
  lbPortOffset: number;
  adminPort: number;
  adminAddress: string;
  logFormat: LogFormat;
  useProxyProtocol: boolean;
  drainTimeoutMs: number;
  /** How often the primary makes new TLS session ticket keys for the load balancer and the proxy (default 1 h). */
  ticketKeyRotationMs?: number;
  /** Runtime-wide proxy settings, passed to every process that runs the proxy as they are. */
  proxy: ProxySettings;
  /** Run the proxy inside the balancer workers (no separate proxy
   *  processes, no loopback hop between them; the edge key is then in the
   *  processes that serve HTTP). Needs both the proxy and balancer roles. */
  coLocated: boolean;
  /** Managed renewal's retry backoff after a failure (default 1 min doubling to 6 h). */
  renewalBackoff?: { baseMs: number; maxMs: number };
  /** Creates the object source (folder or Kubernetes) feeding the cache. */

  createSource(cache: ObjectCache, logger: pino.Logger): Source;
  /** Where statuses go besides the log and /status (the Kubernetes API);
   *  it reports each status update it makes for the metrics. */
  createStatusSink?(logger: pino.Logger, hooks: StatusSinkHooks): StatusSink;
}

export interface StatusSinkHooks {
  onStatusUpdate(u: StatusUpdate): void;
}

export interface StatusSink {
  write(report: StatusReport): void;
  stop(): Promise<void>;
  /** Present where replicas elect a leader: only the leader renews certificates. */
  isLeader?(): boolean;
  onStartedLeading?(listener: () => void): void;
}

export interface RunningServer {
  /** Resolves with the exit code once the server has stopped. */
  done: Promise<number>;
  stop(): Promise<void>;
  report(): StatusReport;
}
