// IPC messages between the primary process and its workers. Configs cross
// as plain data (DESIGN.md rule 2); edge keys never do: balancer workers
// read them from the certificate store themselves.

import type { ProxyConfig } from '../dag/proxy-config.ts';
import type { BalancerConfig } from '../balancer/balancer-config.ts';
import type { LogFormat } from './logger.ts';

/** A proxy listener, as the proxy runtime takes it. */
export type { ProxyListenerSpec as ListenerSpec } from '../proxy/index.ts';
import type { ProxyListenerSpec as ListenerSpec } from '../proxy/index.ts';

export type ToProxyWorker =
  | {
      type: 'init';
      listeners: ListenerSpec[];
      logFormat: LogFormat;
      accessLog: boolean;
      workerIndex: number;
      /** The same 48 bytes in every proxy worker, so a TLS session ticket
       *  resumes on whichever worker the kernel hands the connection to. */
      ticketKeys: Buffer;
    }
  | { type: 'config'; version: number; config: ProxyConfig }
  | { type: 'shutdown'; drainTimeoutMs: number };

export type ToBalancerWorker =
  | {
      type: 'init';
      stateDir: string;
      proxyTargets?: { http: { address: string; port: number }; https: { address: string; port: number } };
      logFormat: LogFormat;
      workerIndex: number;
    }
  | { type: 'config'; version: number; config: BalancerConfig }
  | { type: 'health'; requestId: number }
  | { type: 'shutdown'; drainTimeoutMs: number };

export type { ListenerHealth } from '../balancer/index.ts';
import type { ListenerHealth } from '../balancer/index.ts';

export type FromWorker =
  | { type: 'listening' }
  | { type: 'applied'; version: number; health?: Record<string, ListenerHealth> }
  | { type: 'health'; requestId: number; listeners: Record<string, ListenerHealth> }
  | { type: 'fatal'; message: string; code?: string }
  | { type: 'drained' };
