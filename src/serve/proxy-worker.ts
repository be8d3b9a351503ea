// A proxy worker process: runs the proxy runtime with the listeners the
// primary gives it and applies each ProxyConfig it receives. It never sees
// an edge key. All workers share their ports through SO_REUSEPORT.

import { ProxyRuntime } from '../proxy/index.ts';
import type { AccessLogEntry } from '../proxy/index.ts';
import { createLogger } from './logger.ts';
import type { FromWorker, ToProxyWorker } from './messages.ts';
import type pino from 'pino';

let runtime: ProxyRuntime | undefined;
let logger: pino.Logger | undefined;
let shuttingDown = false;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

process.on('message', (raw) => {
  const msg = raw as ToProxyWorker;
  void handle(msg).catch((err: unknown) => {
    send({ type: 'fatal', message: err instanceof Error ? err.message : String(err), code: (err as NodeJS.ErrnoException).code });
  });
});

// The primary owns signals: a terminal's Ctrl-C reaches the whole process
// group, and the worker must drain when the primary says so, not before.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => {
  // The primary died: do not keep serving an orphaned config forever.
  void shutdown(0);
});

async function handle(msg: ToProxyWorker): Promise<void> {
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
      runtime.apply(msg.config);
      send({ type: 'applied', version: msg.version });
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
