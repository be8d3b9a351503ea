// A balancer worker process: the only kind of process that reads edge
// private keys (from the certificate store, by ARN). Applies each
// BalancerConfig it receives and reports listener and target health.

import { BalancerRuntime } from '../balancer/index.ts';
import { CertificateStore } from '../certs/index.ts';
import { createLogger } from './logger.ts';
import type { FromWorker, ToBalancerWorker } from './messages.ts';
import type pino from 'pino';

let runtime: BalancerRuntime | undefined;
let logger: pino.Logger | undefined;
let shuttingDown = false;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

process.on('message', (raw) => {
  const msg = raw as ToBalancerWorker;
  void handle(msg).catch((err: unknown) => {
    send({ type: 'fatal', message: err instanceof Error ? err.message : String(err), code: (err as NodeJS.ErrnoException).code });
  });
});
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => {
  void shutdown(0);
});

async function handle(msg: ToBalancerWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      logger = createLogger(msg.logFormat, { role: 'balancer', worker: msg.workerIndex });
      const store = await CertificateStore.open(msg.stateDir, { readOnly: true });
      runtime = new BalancerRuntime({ keys: store, proxyTargets: msg.proxyTargets, logger, reusePort: true });
      send({ type: 'listening' });
      return;
    }
    case 'config': {
      if (!runtime) throw new Error('config before init');
      await runtime.apply(msg.config);
      send({ type: 'applied', version: msg.version, health: runtime.health().listeners });
      return;
    }
    case 'health':
      send({ type: 'health', requestId: msg.requestId, listeners: runtime?.health().listeners ?? {} });
      return;
    case 'shutdown':
      await shutdown(msg.drainTimeoutMs);
      return;
  }
}

async function shutdown(drainTimeoutMs: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  await runtime?.close(drainTimeoutMs);
  logger?.flush();
  send({ type: 'drained' });
  process.disconnect?.();
  process.exit(0);
}
