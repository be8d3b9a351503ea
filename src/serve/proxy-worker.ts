// A proxy worker process: runs the proxy runtime with the listeners the
// primary gives it and applies each ProxyConfig it receives. It never sees
// an edge key. All workers share their ports through SO_REUSEPORT.

import type pino from 'pino';
import type { ProxyConfig } from '../dag/proxy-config.ts';
import { ProxyRuntime } from '../proxy/index.ts';
import type { AccessLogEntry } from '../proxy/index.ts';
import { createLogger } from './logger.ts';
import type { ToProxyWorker } from './messages.ts';
import { runWorker, send } from './worker-process.ts';

let runtime: ProxyRuntime | undefined;
let logger: pino.Logger | undefined;

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
      case 'config':
        if (!runtime) throw new Error('config before init');
        const t0 = performance.now();
        const config = JSON.parse(msg.config) as ProxyConfig;
        const t1 = performance.now();
        runtime.apply(config);
        logger?.debug({ version: msg.version, parseMs: Math.round(t1 - t0), applyMs: Math.round(performance.now() - t1) }, 'proxy configuration applied');
        send({ type: 'applied', version: msg.version });
        return;
    }
  },
  async drain(drainTimeoutMs) {
    await runtime?.close(drainTimeoutMs);
    logger?.flush();
  },
});
