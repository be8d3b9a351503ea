// A balancer worker process: the only kind of process that reads edge
// private keys (from the certificate store, by ARN). Applies each
// BalancerConfig it receives and reports listener and target health.

import type pino from 'pino';
import { BalancerRuntime } from '../balancer/index.ts';
import { CertificateStore } from '../certs/index.ts';
import { createLogger } from './logger.ts';
import type { ToBalancerWorker } from './messages.ts';
import { runWorker, send } from './worker-process.ts';

let runtime: BalancerRuntime | undefined;
let logger: pino.Logger | undefined;

runWorker<ToBalancerWorker>({
  async handle(msg) {
    switch (msg.type) {
      case 'init': {
        logger = createLogger(msg.logFormat, { role: 'balancer', worker: msg.workerIndex });
        const store = await CertificateStore.open(msg.stateDir, { readOnly: true });
        runtime = new BalancerRuntime({ keys: store, proxyTargets: msg.proxyTargets, logger, reusePort: true });
        send({ type: 'listening' });
        return;
      }
      case 'config':
        if (!runtime) throw new Error('config before init');
        await runtime.apply(msg.config);
        send({ type: 'applied', version: msg.version, health: runtime.health().listeners });
        return;
      case 'health':
        send({ type: 'health', requestId: msg.requestId, listeners: runtime?.health().listeners ?? {} });
        return;
    }
  },
  async drain(drainTimeoutMs) {
    await runtime?.close(drainTimeoutMs);
    logger?.flush();
  },
});
