// A proxy worker process: runs the proxy runtime with the listeners the
// primary gives it and applies each ProxyConfig update it receives (whole
// or a delta). It never sees an edge key. All workers share their ports
// through SO_REUSEPORT.

import type pino from 'pino';
import { proxySeries } from '../metrics/index.ts';
import type { ProxyRuntime } from '../proxy/index.ts';
import { ProxyConfigReplica } from './config-delta.ts';
import { createLogger } from './logger.ts';
import type { ToProxyWorker } from './messages.ts';
import { applyProxyUpdate, syncPortListeners } from './proxy-apply.ts';
import { startProxy } from './start-proxy.ts';
import { runWorker, send } from './worker-process.ts';
import { http01Of } from './challenges.ts';
import { takeHandOff } from './handed-off.ts';

let runtime: ProxyRuntime | undefined;
let logger: pino.Logger | undefined;
const replica = new ProxyConfigReplica();
/** Deltas this worker could not take (it asked for the whole config). */
let deltasRefused = 0;
/** Keys of a rotation that arrived while the runtime was starting. */
let rotatedKeys: Buffer | undefined;
/** Which worker this is (Envoy's per-worker listener series). */
let index: number | undefined;

runWorker<ToProxyWorker>({
  async handle(msg, handle) {
    switch (msg.type) {
      case 'connection':
        takeHandOff(runtime, msg, handle);
        return;
      case 'init': {
        const { type: _, logFormat, workerIndex, ...start } = msg;
        index = workerIndex;
        logger = createLogger(logFormat, { role: 'proxy', worker: workerIndex });
        runtime = await startProxy(start, logger);
        if (rotatedKeys) runtime.setTicketKeys(rotatedKeys);
        send({ type: 'listening' });
        return;
      }
      case 'config': {
        if (!runtime) throw new Error('config before init');
        const update = { version: msg.version, text: msg.config, ...(msg.base !== undefined ? { base: msg.base } : {}) };
        if (applyProxyUpdate(runtime, replica, update, logger)) {
          const portProblems = await syncPortListeners(runtime, logger);
          send({ type: 'applied', version: msg.version, portProblems });
        } else {
          deltasRefused++;
          send({ type: 'resync', version: msg.version });
        }
        return;
      }
      case 'ticket-keys':
        rotatedKeys = Buffer.from(msg.keys);
        runtime?.setTicketKeys(rotatedKeys);
        return;
      case 'metrics':
        if (runtime) send({ type: 'metrics', requestId: msg.requestId, metrics: proxySeries(runtime.metricsSource(deltasRefused), index) });
        return;
      case 'challenges':
        runtime?.setAcmeHttp01(http01Of(msg.challenges));
        send({ type: 'challenges', requestId: msg.requestId });
        return;
    }
  },
  async drain(drainTimeoutMs) {
    await runtime?.close(drainTimeoutMs);
    logger?.flush();
  },
});
