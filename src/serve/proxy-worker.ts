// A proxy worker process: runs the proxy runtime with the listeners the
// primary gives it and applies each ProxyConfig update it receives (whole
// or a delta). It never sees an edge key. All workers share their ports
// through SO_REUSEPORT.

import type pino from 'pino';
import { ProxyRuntime } from '../proxy/index.ts';
import type { AccessLogEntry } from '../proxy/index.ts';
import { ProxyConfigReplica } from './config-delta.ts';
import { createLogger } from './logger.ts';
import type { ToProxyWorker } from './messages.ts';
import { applyProxyUpdate } from './proxy-apply.ts';
import { runWorker, send } from './worker-process.ts';

let runtime: ProxyRuntime | undefined;
let logger: pino.Logger | undefined;
const replica = new ProxyConfigReplica();

runWorker<ToProxyWorker>({
  async handle(msg) {
    switch (msg.type) {
      case 'init': {
        logger = createLogger(msg.logFormat, { role: 'proxy', worker: msg.workerIndex });
        const log = logger;
        const onAccessLog = msg.accessLog ? (e: AccessLogEntry) => log.info({ access: e }, 'access') : undefined;
        runtime = new ProxyRuntime({ listeners: msg.listeners, logger: log, onAccessLog, ticketKeys: Buffer.from(msg.ticketKeys) });
        await runtime.listen();
        send({ type: 'listening' });
        return;
      }
      case 'config': {
        if (!runtime) throw new Error('config before init');
        const update = { version: msg.version, text: msg.config, ...(msg.base !== undefined ? { base: msg.base } : {}) };
        if (applyProxyUpdate(runtime, replica, update, logger)) send({ type: 'applied', version: msg.version });
        else send({ type: 'resync', version: msg.version });
        return;
      }
    }
  },
  async drain(drainTimeoutMs) {
    await runtime?.close(drainTimeoutMs);
    logger?.flush();
  },
});
