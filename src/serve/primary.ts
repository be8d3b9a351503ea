// The primary process of `isobar serve`: owns the sources, the pure
// builders and status; forks proxy and balancer workers and sends them
// configs (the proxy's as deltas on the version before). Nothing on the
// request path waits on this process.

import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pino from 'pino';
import { ObjectCache } from '../objects/cache.ts';
import type { IsobarConfig } from '../config/types.ts';
import { EdgeBuilder, type BalancerConfig, type ProxyConfig } from '../edge/index.ts';
import { withRuntimeHealth } from '../balancer/index.ts';
import { CertificateStore, toEdgeCertificate } from '../certs/index.ts';
import type { StatusReport, ServiceStatus } from '../status/types.ts';
import { CliError, EXIT_USAGE } from '../cli/errors.ts';
import { createLogger, type LogFormat } from './logger.ts';
import { WorkerPool } from './workers.ts';
import { ProxyConfigDeltas, type ProxyConfigUpdate } from './config-delta.ts';
import type { ListenerSpec, ToBalancerWorker, ToProxyWorker, ListenerHealth } from './messages.ts';
import { startAdminServer, type AdminServer } from '../admin/server.ts';
import type { Source } from './source.ts';
import { watchCertificates } from './store-watch.ts';

export type Role = 'dag' | 'proxy' | 'balancer';

export interface ServeOptions {
  dir?: string;
  config: IsobarConfig;
  configPath?: string;
  stateDir: string;
  roles: Set<Role>;
  workers: number | undefined;
  httpPort: number;
  httpsPort: number;
  lbAddress: string;
  lbPortOffset: number;
  adminPort: number;
  adminAddress: string;
  logFormat: LogFormat;
  useProxyProtocol: boolean;
  drainTimeoutMs: number;
  accessLog: boolean;
  /** Run the proxy inside the balancer workers (no separate proxy
   *  processes, no loopback hop between them; the edge key is then in the
   *  processes that serve HTTP). Needs both the proxy and balancer roles. */
  coLocated: boolean;
  /** Creates the object source (folder or Kubernetes) feeding the cache. */
  createSource(cache: ObjectCache, logger: pino.Logger): Source;
  /** Where statuses go besides the log and /status (the Kubernetes API). */
  createStatusSink?(logger: pino.Logger): StatusSink;
}

export interface StatusSink {
  write(report: StatusReport): void;
  stop(): Promise<void>;
}

export interface RunningServer {
  /** Resolves with the exit code once the server has stopped. */
  done: Promise<number>;
  stop(): Promise<void>;
  report(): StatusReport;
}

const SSL_CERT_ANNOTATION = 'service.beta.kubernetes.io/aws-load-balancer-ssl-cert';

export async function serve(o: ServeOptions): Promise<RunningServer> {
  const logger = createLogger(o.logFormat, { role: 'primary' });
  if (o.dir !== undefined) await assertDirectory(o.dir);

  const store = await openStore(o.stateDir);
  const cache = new ObjectCache();
  const source = o.createSource(cache, logger);
  const statusSink = o.createStatusSink?.(logger);
  source.on('problem', (p: { message: string }) => logger.warn({ problem: p }, p.message));
  await source.start();
  // Changes that land while the workers start are applied once they run.
  let changedDuringStart = false;
  const noteEarlyChange = (): void => {
    changedDuringStart = true;
  };
  source.on('change', noteEarlyChange);

  const runProxy = o.roles.has('proxy');
  const runBalancer = o.roles.has('balancer');
  const workerCount = o.workers ?? availableParallelism();

  // The hop from balancer to proxy carries PROXY v2 on listeners of its own,
  // so the public listeners need PROXY only when --use-proxy-protocol says so.
  const internal = runProxy && runBalancer ? { http: await freePort('127.0.0.1'), https: await freePort('127.0.0.1') } : undefined;

  let version = 0;
  let proxyConfig: ProxyConfig | undefined;
  let balancerConfig: BalancerConfig | undefined;
  let report: StatusReport = { httpproxies: [], services: [] };
  let lastStatusLine = new Map<string, string>();
  let balancerHealth: Record<string, ListenerHealth> = {};

  // Keeps each root's result while nothing it read changed: a reload
  // recomputes what an edit touched, and unchanged virtual hosts stay the
  // same objects, which is how the config deltas find them unchanged.
  const edge = new EdgeBuilder();
  const rebuild = async (): Promise<void> => {
    const snapshot = cache.snapshot();
    const certificates = (await store.list()).map(toEdgeCertificate);
    const built = edge.build({
      snapshot,
      config: o.config,
      certificates,
      lbAddress: o.lbAddress,
      portOffset: o.lbPortOffset,
      now: Date.now(),
    });
    version++;
    proxyConfig = built.proxyConfig;
    balancerConfig = built.balancerConfig;
    report = { httpproxies: built.statuses.httpproxies, services: runBalancer ? built.statuses.services : [] };
  };
  const publishStatuses = (): void => {
    lastStatusLine = logStatusChanges(logger, report, lastStatusLine);
    statusSink?.write(report);
  };

  // Every start-up failure ends here: one clear line (exit 2), and nothing
  // left running: no worker, no watch, no lease.
  let proxies: WorkerPool<ToProxyWorker, ProxyConfig> | undefined;
  let balancers: WorkerPool<ToBalancerWorker, BalancerConfig> | undefined;
  const failStart = async (message: string): Promise<never> => {
    proxies?.kill();
    balancers?.kill();
    await source.stop();
    await statusSink?.stop();
    throw new CliError(message, EXIT_USAGE);
  };

  await rebuild();
  publishStatuses();

  if (runBalancer) {
    const known = new Set((await store.list()).map((c) => c.arn));
    const missing = missingCertificates(report.services, known);
    if (missing.length > 0) {
      await failStart(
        `${missing[0]!.service}: certificate ${missing[0]!.arn} (annotation ${SSL_CERT_ANNOTATION}) is not in the certificate store at ${o.stateDir}; ` +
          `issue it with \`isobar certs request --domain NAME --arn ${missing[0]!.arn} --state-dir ${o.stateDir}\` or bring it with \`isobar certs import --arn ${missing[0]!.arn} --cert F --key F\``,
      );
    }
  }

  // Bind-check every port before any worker exists, so a port in use is one
  // clear line and nothing is left running.
  const portsToCheck: { host: string; port: number; what: string }[] = [];
  if (runProxy) {
    portsToCheck.push({ host: '0.0.0.0', port: o.httpPort, what: 'the proxy HTTP listener (--http-port)' });
    portsToCheck.push({ host: '0.0.0.0', port: o.httpsPort, what: 'the proxy HTTPS listener (--https-port)' });
  }
  if (runBalancer) {
    for (const lbc of balancerConfig?.loadBalancers ?? []) {
      for (const l of lbc.listeners) {
        portsToCheck.push({ host: l.bindAddress, port: l.bindPort, what: `the load balancer listener for Service ${l.id} (--lb-port-offset ${o.lbPortOffset})` });
      }
    }
  }
  portsToCheck.push({ host: o.adminAddress, port: o.adminPort, what: 'the admin listener (--admin-port)' });
  for (const p of portsToCheck) {
    const problem = await bindProblem(p.host, p.port);
    if (problem) await failStart(`port ${p.port} on ${p.host} for ${p.what} ${problem}`);
  }

  // A worker that fails to apply a config keeps serving the one before
  // (and /readyz turns red until a later config applies); a worker that
  // dies is replaced by the pool. Neither stops the others.
  const onFatal = (message: string, code: string | undefined, role: string): void => {
    logger.error({ role, code }, `${role} worker: ${message}; it keeps its previous configuration`);
  };

  const ticketKeys = randomBytes(48);
  const coLocated = o.coLocated && runProxy && runBalancer;
  // What the proxy workers (or co-located balancer workers) were last sent;
  // each version's update is made once, whatever the number of workers.
  const proxyDeltas = new ProxyConfigDeltas();
  let proxyItemsChanged = 0;
  const nextProxyUpdate = (v: number, config: ProxyConfig): ProxyConfigUpdate => {
    const update = proxyDeltas.next(v, config);
    proxyItemsChanged = update.changed;
    return update;
  };
  proxies = runProxy && !coLocated
    ? new WorkerPool<ToProxyWorker, ProxyConfig>({
        role: 'proxy',
        count: workerCount,
        logger,
        init: (workerIndex) => ({
          type: 'init',
          workerIndex,
          logFormat: o.logFormat,
          accessLog: o.accessLog,
          ticketKeys,
          listeners: proxyListeners(o, internal),
        }),
        configMessage: (v, config) => proxyMessage(nextProxyUpdate(v, config)),
        wholeConfigMessage: (v) => proxyMessage(proxyDeltas.whole(v)),
        onFatal,
      })
    : undefined;
  balancers = runBalancer
    ? new WorkerPool<ToBalancerWorker, BalancerConfig>({
        role: 'balancer',
        count: workerCount,
        logger,
        init: (workerIndex) => ({
          type: 'init',
          workerIndex,
          stateDir: o.stateDir,
          logFormat: o.logFormat,
          proxyTargets: internal
            ? { http: { address: '127.0.0.1', port: internal.http }, https: { address: '127.0.0.1', port: internal.https } }
            : undefined,
          proxy: coLocated ? { listeners: proxyListeners(o, internal), accessLog: o.accessLog, ticketKeys } : undefined,
        }),
        // Co-located workers get the proxy's config of the same version in
        // the same message.
        configMessage: (v, config) => balancerMessage(v, config, coLocated && proxyConfig ? nextProxyUpdate(v, proxyConfig) : undefined),
        wholeConfigMessage: (v, config) => balancerMessage(v, config, coLocated && proxyConfig ? proxyDeltas.whole(v) : undefined),
        onFatal,
        onApplied: (msg) => {
          if (msg.health) balancerHealth = { ...balancerHealth, ...msg.health };
        },
      })
    : undefined;

  try {
    await Promise.all([proxies?.start(), balancers?.start()]);
  } catch (err) {
    await failStart(`cannot start workers: ${(err as Error).message}`);
  }

  const push = async (): Promise<void> => {
    const v = version;
    await Promise.all([
      proxyConfig && proxies?.apply(v, proxyConfig),
      balancerConfig && balancers?.apply(v, balancerConfig),
    ]);
    if (balancerConfig) lastUsage = await recordUsage(store, balancerConfig, lastUsage, logger);
  };
  let lastUsage = '';
  await push();

  // A start-up apply that could not bind a listener is the same failure as a
  // port in use: say so and leave nothing running.
  const unbound = Object.entries(balancerHealth).filter(([, h]) => !h.bound);
  if (unbound.length > 0) {
    await failStart(`load balancer listener ${unbound[0]![0]} could not start: ${unbound[0]![1].problems.join('; ') || 'not bound'}`);
  }

  // Changes: rebuild and push, one at a time, always from the newest state.
  let building = false;
  let again = false;
  const onChange = (): void => {
    if (building) {
      again = true;
      return;
    }
    building = true;
    void (async () => {
      try {
        do {
          again = false;
          const t0 = performance.now();
          await rebuild();
          const t1 = performance.now();
          // Traffic first: statuses are logged and written once the
          // workers have the new config.
          await push();
          const t2 = performance.now();
          publishStatuses();
          // Where a reload's time goes, for people tuning large installations.
          logger.debug({ version, buildMs: Math.round(t1 - t0), dagMs: edge.stats.dagMs, rootsRecomputed: edge.stats.rootsRecomputed, applyMs: Math.round(t2 - t1), proxyItemsChanged }, 'configuration applied');
        } while (again);
      } catch (err) {
        logger.error({ err }, 'applying a new configuration failed; the previous one keeps serving');
      } finally {
        building = false;
      }
    })();
  };
  // Rebuild on the source's own (coalesced) change events, not on every
  // cache write: a Kubernetes re-list is one rebuild, not thousands.
  source.off('change', noteEarlyChange);
  source.on('change', onChange);
  if (changedDuringStart) onChange();
  const stopWatchingStore = watchCertificates(o.stateDir, onChange);

  const admin: AdminServer = await startAdminServer({
    host: o.adminAddress,
    port: o.adminPort,
    ready: () => source.ready() && (proxies?.upToDate() ?? true) && (balancers?.upToDate() ?? true),
    report: async () => {
      if (balancers) {
        const replies = await balancers.health();
        for (const r of replies) balancerHealth = { ...balancerHealth, ...r.listeners };
      }
      return withHealth(report, balancerConfig, balancerHealth);
    },
  });

  logger.info(
    {
      roles: [...o.roles],
      workers: workerCount,
      http: runProxy ? o.httpPort : undefined,
      https: runProxy ? o.httpsPort : undefined,
      admin: admin.port,
      loadBalancers: balancerConfig?.loadBalancers.flatMap((lb) => lb.listeners.map((l) => `${l.bindAddress}:${l.bindPort} (${l.id}, ${l.protocol})`)),
    },
    'isobar is serving',
  );

  let stopping: Promise<void> | undefined;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ drainTimeoutMs: o.drainTimeoutMs }, 'stopping: draining connections');
      stopWatchingStore?.();
      await source.stop();
      await statusSink?.stop();
      await Promise.all([proxies?.stop(o.drainTimeoutMs), balancers?.stop(o.drainTimeoutMs)]);
      await admin.close();
      logger.info('stopped');
      logger.flush();
      resolveDone(0);
    })();
    return stopping;
  };
  return { done, stop, report: () => withHealth(report, balancerConfig, balancerHealth) };
}

function proxyMessage(u: ProxyConfigUpdate): ToProxyWorker {
  return { type: 'config', version: u.version, ...(u.base !== undefined ? { base: u.base } : {}), config: u.text };
}

function balancerMessage(version: number, config: BalancerConfig, proxy: ProxyConfigUpdate | undefined): ToBalancerWorker {
  return {
    type: 'config',
    version,
    config: JSON.stringify(config),
    ...(proxy ? { proxyConfig: proxy.text, ...(proxy.base !== undefined ? { proxyBase: proxy.base } : {}) } : {}),
  };
}

function proxyListeners(o: ServeOptions, internal: { http: number; https: number } | undefined): ListenerSpec[] {
  const listeners: ListenerSpec[] = [
    { name: 'http', host: '0.0.0.0', port: o.httpPort, tls: false, proxyProtocol: o.useProxyProtocol, reusePort: true },
    { name: 'https', host: '0.0.0.0', port: o.httpsPort, tls: true, proxyProtocol: o.useProxyProtocol, reusePort: true },
  ];
  if (internal) {
    listeners.push(
      { name: 'lb-http', host: '127.0.0.1', port: internal.http, tls: false, proxyProtocol: true, reusePort: true },
      { name: 'lb-https', host: '127.0.0.1', port: internal.https, tls: true, proxyProtocol: true, reusePort: true },
    );
  }
  return listeners;
}

async function assertDirectory(dir: string): Promise<void> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new CliError(`${dir} is not a directory: give the folder that holds your manifests`, EXIT_USAGE);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT' ? `${dir} does not exist: give the folder that holds your manifests` : `cannot read ${dir}: ${code ?? String(err)}`,
      EXIT_USAGE,
    );
  }
}

async function openStore(stateDir: string): Promise<CertificateStore> {
  try {
    return await CertificateStore.open(stateDir, { readOnly: true });
  } catch (err) {
    throw new CliError(`certificate store ${stateDir}: ${(err as Error).message}`, EXIT_USAGE);
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Returns why the port cannot be bound, or undefined when it can. */
function bindProblem(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const s = createNetServer();
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve('is already in use: stop what holds it or choose another port');
      else if (err.code === 'EACCES') resolve('needs privileges: choose a port above 1023 (for load balancer ports, use --lb-port-offset)');
      else resolve(`cannot be bound: ${err.code ?? err.message}`);
    });
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

/** Certificates that Services name in their ssl-cert annotation and the
 *  store does not hold: a start-up error (at reload time only a problem). */
function missingCertificates(services: ServiceStatus[], known: Set<string>): { service: string; arn: string }[] {
  const out: { service: string; arn: string }[] = [];
  for (const s of services) {
    for (const p of s.problems) {
      if (p.severity !== 'error' || p.field !== SSL_CERT_ANNOTATION) continue;
      for (const m of p.message.matchAll(/arn:[^\s"'`,]+/g)) {
        if (!known.has(m[0])) out.push({ service: `Service ${s.namespace}/${s.name}`, arn: m[0] });
      }
    }
  }
  return out;
}

async function recordUsage(store: CertificateStore, config: BalancerConfig, previous: string, logger: pino.Logger): Promise<string> {
  const usage: Record<string, string[]> = {};
  for (const lb of config.loadBalancers) {
    for (const l of lb.listeners) {
      for (const c of l.tls?.certificates ?? []) (usage[c.arn] ??= []).push(l.id);
    }
  }
  const serialized = JSON.stringify(usage);
  if (serialized === previous) return previous;
  try {
    await store.recordUsage(usage);
    return serialized;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not record certificate usage in the state dir');
    return previous;
  }
}

function withHealth(report: StatusReport, config: BalancerConfig | undefined, health: Record<string, ListenerHealth>): StatusReport {
  if (!config) return report;
  return { httpproxies: report.httpproxies, services: withRuntimeHealth(report.services, config, { listeners: health }) };
}

function logStatusChanges(logger: pino.Logger, report: StatusReport, previous: Map<string, string>): Map<string, string> {
  const next = new Map<string, string>();
  for (const p of report.httpproxies) {
    const key = `httpproxy ${p.namespace}/${p.name}`;
    const line = `${p.currentStatus}: ${p.description}`;
    next.set(key, line);
    if (previous.get(key) !== line) {
      const level = p.currentStatus === 'valid' ? 'info' : 'warn';
      logger[level]({ httpproxy: `${p.namespace}/${p.name}`, fqdn: p.fqdn, status: p.currentStatus }, `HTTPProxy ${p.namespace}/${p.name} ${line}`);
    }
  }
  for (const s of report.services) {
    for (const prob of s.problems) {
      const key = `service ${s.namespace}/${s.name} ${prob.field ?? ''} ${prob.message}`;
      next.set(key, prob.severity);
      if (!previous.has(key)) logger[prob.severity === 'error' ? 'error' : 'warn']({ service: `${s.namespace}/${s.name}`, field: prob.field }, prob.message);
    }
  }
  return next;
}
