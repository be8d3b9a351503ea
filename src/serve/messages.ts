// IPC messages between the primary process and its workers. Configs cross
// as plain data (DESIGN.md rule 2), as JSON text made once per version: a
// structured clone of a 10,000-HTTPProxy config costs ~60 ms per worker to
// write and as much to read, a string only a copy. A proxy config crosses
// as a delta against the version before (only the items that changed, see
// config-delta.ts); a worker that does not hold that version answers
// 'resync' and is sent the whole config. Edge keys never cross: balancer
// workers read them from the certificate store themselves.

import type { WorkerMetrics } from '../metrics/index.ts';
import type { LogFormat } from './logger.ts';
import type { ProxyStart } from './start-proxy.ts';
import type { AcmeChallenge } from '../balancer/index.ts';

/** A proxy listener, as the proxy runtime takes it. */
export type { ProxyListenerSpec as ListenerSpec } from '../proxy/index.ts';

export type ToProxyWorker =
  | ({
      type: 'init';
      logFormat: LogFormat;
      workerIndex: number;
    } & ProxyStart)
  | {
      type: 'config';
      version: number;
      /** Present: `config` is the JSON of a ProxyConfigDelta against this version. */
      base?: number;
      /** JSON of a ProxyConfig, or of a ProxyConfigDelta when `base` is set. */
      config: string;
    }
  /** Report what this process counted (a scrape is running). */
  | { type: 'metrics'; requestId: number }
  /** The primary rotated the proxy's TLS session ticket keys. */
  | { type: 'ticket-keys'; keys: Uint8Array }
  /** The ACME challenges to answer from now on (the whole set; the proxy answers HTTP-01). */
  | { type: 'challenges'; requestId: number; challenges: AcmeChallenge[] }
  | HandOff
  | { type: 'shutdown'; drainTimeoutMs: number };

/** A connection the primary accepted for the proxy listener `listener`
 *  (listener.connection-balancer: exact); the socket is the message's
 *  handle. The worker answers 'adopted' at once. */
export interface HandOff {
  type: 'connection';
  id: number;
  listener: string;
  /** Accepted on a Unix socket (the load balancer's hop) rather than TCP. */
  unix: boolean;
}

export type ToBalancerWorker =
  | {
      type: 'init';
      stateDir: string;
      proxyTargets?: {
        http: { address: string; port: number };
        https: { address: string; port: number };
        /** The proxy workers' Unix sockets for the same listeners (default mode). */
        unixPaths?: { http: string[]; https: string[] };
        /** Each proxy worker's Unix socket of a port listener, "{listener}" standing for its name (default mode). */
        portPathTemplates?: string[];
      };
      logFormat: LogFormat;
      workerIndex: number;
      /** serve --co-located: this worker runs the proxy too (and its
       *  balancer hands flows for the proxy over in-process). */
      proxy?: ProxyStart;
      /** TLS session ticket keys, the same in every balancer worker (ticket-keys.ts). */
      ticketKeys: Uint8Array;
    }
  /** The primary rotated the TLS session ticket keys of the load
   *  balancer, or (--co-located) of the proxy in this worker. */
  | { type: 'ticket-keys'; keys: Uint8Array; of: 'balancer' | 'proxy' }
  | {
      type: 'config';
      version: number;
      /** JSON of a BalancerConfig (always whole). */
      config: string;
      /** --co-located: JSON of a ProxyConfig, or of a ProxyConfigDelta when proxyBase is set. */
      proxyConfig?: string;
      proxyBase?: number;
    }
  | { type: 'health'; requestId: number }
  | { type: 'metrics'; requestId: number }
  /** The ACME challenges to answer from now on (the whole set). */
  | { type: 'challenges'; requestId: number; challenges: AcmeChallenge[] }
  /** --co-located: a connection for the proxy in this worker. */
  | HandOff
  /** Kept listening sockets (socket-keeper.ts), each the message's handle:
   *  before init, those of the worker this one replaces, to listen on
   *  again; later, `from` set, a dead worker's, to accept on for it. */
  | { type: 'listen-socket'; key: string; from?: number }
  /** Worker `from`'s replacement listens again: close its sockets here. */
  | { type: 'release-orphans'; from: number }
  | { type: 'shutdown'; drainTimeoutMs: number };

export type { ListenerHealth } from '../balancer/index.ts';
import type { ListenerHealth } from '../balancer/index.ts';

export type FromWorker =
  | { type: 'listening' }
  | {
      type: 'applied';
      version: number;
      health?: Record<string, ListenerHealth>;
      /** Port listeners (ProxyConfig.listeners) this worker could not bind, by name, with why. */
      portProblems?: Record<string, string>;
    }
  /** The config of `version` came as a delta on a version this worker does
   *  not hold (it was just forked, or failed an earlier one): nothing of it
   *  was applied; send the whole latest config. */
  | { type: 'resync'; version: number }
  | { type: 'health'; requestId: number; listeners: Record<string, ListenerHealth> }
  | { type: 'metrics'; requestId: number; metrics: WorkerMetrics }
  /** The challenges of that request are answered. */
  | { type: 'challenges'; requestId: number }
  /** The handed-off connection `id` is this worker's now: the primary closes its copy. */
  | { type: 'adopted'; id: number }
  /** A handed-off connection of `listener` closed. */
  | { type: 'closed'; listener: string }
  /** This worker listens on the socket `key`, the message's handle: the
   *  primary keeps a copy. */
  | { type: 'listen-socket'; key: string }
  /** It stopped listening on `key` (or never used the one it inherited). */
  | { type: 'listen-socket-closed'; key: string }
  /** It closed dead worker `from`'s socket `key` (that listener stopped). */
  | { type: 'orphan-closed'; from: number; key: string }
  | { type: 'fatal'; message: string; code?: string }
  | { type: 'drained' };
