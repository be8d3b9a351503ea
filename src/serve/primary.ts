// The primary process of `isobar serve`: owns the sources, the pipeline
// and status; forks proxy and balancer workers and sends them configs (the
// proxy's as deltas on the version before). Nothing on the request path
// waits on this process.
//
// serve() reads as its steps: open the inputs, build once, check what
// would fail, start the workers, push the first configs, follow changes,
// open the admin listener. Every start-up failure ends in one StartError
// (one clear line), with nothing left running: no worker, no watch, no lease.

import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import type pino from 'pino';
import { mkdtempSync, readFileSync } from 'node:fs';
import { startAdminServer, type AdminServer } from '../admin/index.ts';
import { ControlPlaneMetrics, exposition, MetricsAggregator } from '../metrics/index.ts';
import type { CertificateStore } from '../certs/index.ts';
import { ObjectCache } from '../objects/index.ts';
import { EdgeState } from './edge-state.ts';
import { EdgeWorkers, type InternalPorts } from './edge-workers.ts';
import { StartError } from './errors.ts';
import { createLogger } from './logger.ts';
import type { RunningServer, ServeOptions, StatusSink } from './options.ts';
import { freePort, listenProblem } from './ports.ts';
import { holdChanges, ReloadLoop } from './reload-loop.ts';
import type { Source } from './source.ts';
import { assertDirectory, missingCertificate, openStore, portInUse } from './start-checks.ts';
import { CertificateRenewer } from './certificate-renewer.ts';
import { watchCertificates } from './store-watch.ts';

export async function serve(o: ServeOptions): Promise<RunningServer> {
  const logger = createLogger(o.logFormat, { role: 'primary' });
  const metrics = new ControlPlaneMetrics({ version: packageVersion() });
  const { store, cache, source, statusSink } = await openInputs(o, logger, metrics);
  const held = holdChanges(source);

  const runs = rolesToRun(o);
  const ports = runs.proxy && runs.balancer ? await internalPorts() : undefined;
  const state = new EdgeState({ serve: o, cache, store, runBalancer: runs.balancer, logger, statusSink, metrics });
  let started: EdgeWorkers | undefined;
  const failStart = async (err: StartError): Promise<never> => {
    started?.kill();
    await source.stop();
    await statusSink?.stop();
    throw err;
  };

  await state.rebuild();
  state.publishStatuses();
  const problem =
    (runs.balancer ? await missingCertificate(state.report.services, store, o.stateDir) : undefined) ??
    (await portInUse(o, runs, state.balancerConfig));
  if (problem) await failStart(problem);

  const internal = withSocketDir(ports, runs.coLocated);
  const workers = new EdgeWorkers({
    serve: o,
    runProxy: runs.proxy,
    runBalancer: runs.balancer,
    coLocated: runs.coLocated,
    count: runs.workers,
    internal,
    logger,
  });
  started = workers;
  try {
    await workers.start();
  } catch (err) {
    await failStart(new StartError('WORKERS', `cannot start workers: ${(err as Error).message}`));
  }
  const loop = new ReloadLoop(state, workers, store, logger, metrics);
  const pushStart = performance.now();
  await loop.push();
  // The whole first configuration to every worker (bench/fanout.ts reads it).
  logger.debug({ version: state.version, applyMs: Math.round(performance.now() - pushStart) }, 'first configuration applied');
  const unbound = unboundListener(workers);
  if (unbound) await failStart(unbound);

  const stopWatchingStore = loop.follow(held, o.stateDir);
  // Certificates this server issues and renews (ACME, the local CA): where
  // the balancer runs (its workers answer the challenges) or the proxy
  // serves port 80 itself (it answers HTTP-01).
  const renewer = runs.balancer || runs.proxy
    ? new CertificateRenewer({
        stateDir: o.stateDir,
        config: o.config,
        setChallenges: (list) => workers.setChallenges(list),
        logger,
        metrics,
        ...(statusSink?.isLeader ? { isLeader: () => statusSink.isLeader!() } : {}),
        ...(o.renewalBackoff ? { backoff: o.renewalBackoff } : {}),
      })
    : undefined;
  const stopWatchingForRenewer = renewer ? watchCertificates(o.stateDir, renewer.poke) : () => {};
  renewer?.poke();
  if (renewer) statusSink?.onStartedLeading?.(renewer.poke);
  // The port was free at the checks above; something may have taken it
  // since (the workers started in between): one clear line, nothing left.
  let admin: AdminServer;
  try {
    admin = await startAdminServer({
      host: o.adminAddress,
      port: o.adminPort,
      ready: () => source.ready() && workers.upToDate(),
      report: async () => state.reportWithHealth(await workers.refreshHealth()),
      metrics: scrape(workers, metrics),
      // The page and `explain --admin` see what the workers run.
      edge: () => ({
        version: state.version,
        proxyConfig: state.proxyConfig,
        balancerConfig: runs.balancer ? state.balancerConfig : undefined,
        proxyListeners: runs.proxy
          ? [
              { name: 'http', address: o.proxyAddress, port: o.httpPort, tls: false, proxyProtocol: o.useProxyProtocol },
              { name: 'https', address: o.proxyAddress, port: o.httpsPort, tls: true, proxyProtocol: o.useProxyProtocol },
              // The Gateway listener ports of their own the config names.
              ...(state.proxyConfig?.listeners ?? []).map((l) => ({ name: l.name, address: o.proxyAddress, port: l.bindPort, tls: l.protocol === 'https', proxyProtocol: o.useProxyProtocol })),
            ]
          : [],
      }),
    });
  } catch (err) {
    stopWatchingStore();
    stopWatchingForRenewer();
    await renewer?.stop();
    return failStart(new StartError('PORT', `port ${o.adminPort} on ${o.adminAddress} for the admin listener (--admin-port) ${listenProblem(err as NodeJS.ErrnoException)}`));
  }
  logServing(logger, o, runs, admin, state);

  // No more rebuilds and status writes first, then traffic drains.
  const stopAll = async (): Promise<void> => {
    logger.info({ drainTimeoutMs: o.drainTimeoutMs }, 'stopping: draining connections');
    stopWatchingStore();
    stopWatchingForRenewer();
    await renewer?.stop();
    await source.stop();
    await statusSink?.stop();
    await workers.stop(o.drainTimeoutMs);
    await admin.close();
    logger.info('stopped');
    logger.flush();
  };
  return { ...stopsOnce(stopAll), report: () => state.reportWithHealth(workers.listenerHealth) };
}

interface Inputs {
  store: CertificateStore;
  cache: ObjectCache;
  source: Source;
  statusSink: StatusSink | undefined;
}

/** The manifests folder (checked), the certificate store, the object cache
 *  and its source (started), and where statuses go besides the log. */
async function openInputs(o: ServeOptions, logger: pino.Logger, metrics: ControlPlaneMetrics): Promise<Inputs> {
  if (o.dir !== undefined) await assertDirectory(o.dir);
  const store = await openStore(o.stateDir);
  const cache = new ObjectCache();
  const source = o.createSource(cache, logger);
  const statusSink = o.createStatusSink?.(logger, { onStatusUpdate: metrics.statusUpdate });
  source.on('problem', (p: { message: string }) => logger.warn({ problem: p }, p.message));
  await source.start();
  return { store, cache, source, statusSink };
}

/** One /metrics scrape: every worker's counts (aggregated so that a
 *  replaced worker never makes a counter go backwards), then the primary's
 *  own series. */
function scrape(workers: EdgeWorkers, metrics: ControlPlaneMetrics): () => Promise<string> {
  const aggregator = new MetricsAggregator();
  return async () => {
    await workers.collectMetrics(aggregator);
    return exposition(aggregator.total(), [metrics.registry]);
  };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** stop() runs stopAll once (a second signal waits for the same stop);
 *  done resolves with exit code 0 once it has run. */
function stopsOnce(stopAll: () => Promise<void>): Pick<RunningServer, 'done' | 'stop'> {
  let stopping: Promise<void> | undefined;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  const stop = (): Promise<void> => (stopping ??= stopAll().then(() => resolveDone(0)));
  return { done, stop };
}

interface Runs {
  proxy: boolean;
  balancer: boolean;
  /** The proxy inside the balancer workers. */
  coLocated: boolean;
  /** Workers of each kind. */
  workers: number;
}

function rolesToRun(o: ServeOptions): Runs {
  const proxy = o.roles.has('proxy');
  const balancer = o.roles.has('balancer');
  return { proxy, balancer, coLocated: o.coLocated && proxy && balancer, workers: o.workers ?? availableParallelism() };
}

/** The hop from balancer to proxy carries PROXY v2 on listeners of its own. */
async function internalPorts(): Promise<InternalPorts> {
  return { http: await freePort('127.0.0.1'), https: await freePort('127.0.0.1') };
}

/** Between worker processes the hop goes over Unix sockets (cheaper for
 *  the kernel than loopback TCP; the ports stay for health checks and as a
 *  fallback), in a folder of its own (mkdtemp, 0700) removed at the end. */
function withSocketDir(ports: InternalPorts | undefined, coLocated: boolean): InternalPorts | undefined {
  if (ports === undefined || coLocated) return ports;
  return { ...ports, socketDir: mkdtempSync(path.join(tmpdir(), 'isobar-')) };
}

/** A start-up apply that could not bind a listener is the same failure as
 *  a port in use. */
function unboundListener(workers: EdgeWorkers): StartError | undefined {
  const unbound = Object.entries(workers.listenerHealth).filter(([, h]) => !h.bound);
  if (unbound.length === 0) return undefined;
  return new StartError('LISTENER', `load balancer listener ${unbound[0]![0]} could not start: ${unbound[0]![1].problems.join('; ') || 'not bound'}`);
}

function logServing(logger: pino.Logger, o: ServeOptions, runs: Runs, admin: AdminServer, state: EdgeState): void {
  logger.info(
    {
      roles: [...o.roles],
      workers: runs.workers,
      http: runs.proxy ? o.httpPort : undefined,
      https: runs.proxy ? o.httpsPort : undefined,
      admin: admin.port,
      loadBalancers: state.balancerConfig?.loadBalancers.flatMap((lb) => lb.listeners.map((l) => `${l.bindAddress}:${l.bindPort} (${l.id}, ${l.protocol})`)),
    },
    'isobar is serving',
  );
}
