// A balancer worker process: the only kind of process that reads edge
// private keys (from the certificate store, by ARN). Applies each
// BalancerConfig it receives and reports listener and target health.
// With serve --co-located it also runs the proxy, and flows for the proxy
// are handed to it in-process instead of over a loopback connection.

import type pino from 'pino';
import { BalancerRuntime, type BalancerConfig } from '../balancer/index.ts';
import { CertificateStore } from '../certs/index.ts';
import { balancerSeries, mergeWorkerMetrics, proxySeries } from '../metrics/index.ts';
import type { ProxyRuntime } from '../proxy/index.ts';
import { ProxyConfigReplica } from './config-delta.ts';
import { createLogger } from './logger.ts';
import type { ToBalancerWorker } from './messages.ts';
import { applyProxyUpdate, syncPortListeners } from './proxy-apply.ts';
import { runWorker, send } from './worker-process.ts';
import { http01Of } from './challenges.ts';
import { takeHandOff } from './handed-off.ts';
import { WorkerListenSockets } from './worker-listen-sockets.ts';

let runtime: BalancerRuntime | undefined;
let proxy: ProxyRuntime | undefined;
let logger: pino.Logger | undefined;
/** The latest ticket keys: a rotation may arrive while init is still running. */
let ticketKeys: Buffer | undefined;
/** --co-located: the proxy's, rotated apart from the balancer's. */
let proxyTicketKeys: Buffer | undefined;
const proxyReplica = new ProxyConfigReplica();
/** Proxy deltas this worker could not take (co-located: it asked for the whole config). */
let proxyDeltasRefused = 0;
/** Which worker this is (--co-located: Envoy's per-worker listener series). */
let index: number | undefined;
const listenSockets = new WorkerListenSockets();

runWorker<ToBalancerWorker>({
  async handle(msg, handle) {
    switch (msg.type) {
      case 'connection':
        takeHandOff(proxy, msg, handle);
        return;
      case 'listen-socket':
        if (msg.from === undefined) listenSockets.inherit(msg.key, handle);
        else if (!runtime?.adoptOrphan(msg.from, msg.key, handle)) {
          // No listener here has that port any more.
          (handle as { close(): void }).close();
          listenSockets.orphanReleased(msg.from, msg.key);
        }
        return;
      case 'release-orphans':
        runtime?.releaseOrphans(msg.from);
        return;
      case 'init': {
        index = msg.workerIndex;
        // Structured clone (IPC) turns a Buffer into a plain Uint8Array.
        ticketKeys = Buffer.from(msg.ticketKeys);
        logger = createLogger(msg.logFormat, { role: msg.proxy ? 'edge' : 'balancer', worker: msg.workerIndex });
        const store = await CertificateStore.open(msg.stateDir, { readOnly: true });
        if (msg.proxy) {
          // Only co-located workers load the proxy (and undici).
          const { startProxy } = await import('./start-proxy.ts');
          proxy = await startProxy(msg.proxy, logger);
          // Keys rotated while the proxy was starting.
          if (proxyTicketKeys) proxy.setTicketKeys(proxyTicketKeys);
        }
        const local = proxy;
        runtime = new BalancerRuntime({
          keys: store,
          proxyTargets: msg.proxyTargets,
          // The proxy's own listeners, or a port listener by name.
          localProxy: local && { adopt: (kind, client) => local.adopt(kind === 'http' ? 'lb-http' : kind === 'https' ? 'lb-https' : `lb-${kind}`, client) },
          logger,
          reusePort: true,
          sockets: listenSockets,
          ticketKeys,
        });
        send({ type: 'listening' });
        return;
      }
      case 'config':
        if (!runtime) throw new Error('config before init');
        // The proxy first: the balancer may start sending it new hosts. A
        // proxy delta this worker cannot take leaves the whole message
        // unapplied; the primary then sends both configs whole.
        if (msg.proxyConfig !== undefined && proxy) {
          const update = { version: msg.version, text: msg.proxyConfig, ...(msg.proxyBase !== undefined ? { base: msg.proxyBase } : {}) };
          if (!applyProxyUpdate(proxy, proxyReplica, update, logger)) {
            proxyDeltasRefused++;
            send({ type: 'resync', version: msg.version });
            return;
          }
        }
        const ports = proxy ? await syncPortListeners(proxy, logger) : undefined;
        await runtime.apply(JSON.parse(msg.config) as BalancerConfig);
        listenSockets.dropUnused();
        send({ type: 'applied', version: msg.version, health: runtime.health().listeners, ...(ports ? { portProblems: ports } : {}) });
        return;
      case 'ticket-keys':
        if (msg.of === 'proxy') {
          proxyTicketKeys = Buffer.from(msg.keys);
          proxy?.setTicketKeys(proxyTicketKeys);
          return;
        }
        ticketKeys = Buffer.from(msg.keys);
        runtime?.setTicketKeys(ticketKeys);
        return;
      case 'health':
        send({ type: 'health', requestId: msg.requestId, listeners: runtime?.health().listeners ?? {} });
        return;
      case 'challenges':
        runtime?.setChallenges(msg.challenges);
        proxy?.setAcmeHttp01(http01Of(msg.challenges));
        send({ type: 'challenges', requestId: msg.requestId });
        return;
      case 'metrics': {
        if (!runtime) return;
        const lb = balancerSeries(runtime.metrics());
        send({ type: 'metrics', requestId: msg.requestId, metrics: proxy ? mergeWorkerMetrics(lb, proxySeries(proxy.metricsSource(proxyDeltasRefused), index)) : lb });
        return;
      }
    }
  },
  async drain(drainTimeoutMs) {
    await Promise.all([runtime?.close(drainTimeoutMs), proxy?.close(drainTimeoutMs)]);
    logger?.flush();
  },
});
