// `isobar serve DIR`: every part of the edge in one command.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { defaultStateDir } from '../certs/index.ts';
import { CliError, EXIT_USAGE } from './errors.ts';
import { parseDurationMs, parseIpAddress, parseNonNegativeInt, parsePort, parsePortOrZero, parsePositiveInt } from './options.ts';
import { configProxySettings, serve, StartError, ROTATION_LIMITS_MS, type Role, type ServeOptions, type Source } from '../serve/index.ts';
import { ConfigError, loadConfigFile } from '../config/index.ts';
import { FolderSource } from '../sources/files/index.ts';

/** --tls-ticket-key-rotation: a duration from 1s to 24h. */
function parseRotation(value: string): number {
  const ms = parseDurationMs(value);
  if (ms < ROTATION_LIMITS_MS.min || ms > ROTATION_LIMITS_MS.max) throw new InvalidArgumentError(`"${value}" is outside 1s to 24h`);
  return ms;
}

interface ServeFlags {
  config?: string;
  stateDir: string;
  roles: string;
  workers?: number;
  httpPort: number;
  httpsPort: number;
  proxyAddress: string;
  lbAddress: string;
  lbPortOffset: number;
  adminPort: number;
  adminAddress: string;
  logFormat: 'json' | 'text';
  useProxyProtocol?: boolean;
  drainTimeout: number;
  drainGrace: number;
  tlsTicketKeyRotation: number;
  accessLog: boolean;
  preserveExternalRequestId?: boolean;
  coLocated?: boolean;
  kubernetes?: boolean;
  kubeconfig?: string;
  namespace: string[];
}

const ROLES: readonly Role[] = ['dag', 'proxy', 'balancer'];

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('serve')
    .description('run the edge: watch DIR (or a cluster), build routes and load balancers, serve traffic')
    .argument('[DIR]', 'folder of Kubernetes manifests (not with --kubernetes)')
    .option('--config <file>', 'isobar config file (Contour keys: tls.envoy-client-certificate, ...)')
    .option('--state-dir <dir>', 'certificate store (env ISOBAR_STATE_DIR)', defaultStateDir())
    .option('--roles <list>', 'parts to run, any of dag,proxy,balancer', 'dag,proxy,balancer')
    .option('--workers <n>', 'worker processes of each kind (default: one per core)', parsePositiveInt)
    .option('--http-port <port>', 'proxy HTTP listener', parsePort, 8080)
    .option('--https-port <port>', 'proxy HTTPS listener', parsePort, 8443)
    .option('--proxy-address <addr>', "address the proxy's HTTP, HTTPS and Gateway port listeners bind (Contour's --envoy-service-http-address)", parseIpAddress, '0.0.0.0')
    .option('--lb-address <addr>', 'address load balancer listeners bind', '127.0.0.1')
    .option('--lb-port-offset <n>', 'a Service port P listens on P+N (443 -> 10443 with 10000)', parseNonNegativeInt, 0)
    .option('--admin-port <port>', 'admin listener: /healthz, /readyz, /status (0 = any free port)', parsePortOrZero, 8000)
    .option('--admin-address <addr>', 'address the admin listener binds', '127.0.0.1')
    .addOption(new Option('--log-format <format>', 'log format').choices(['json', 'text']).default('json'))
    .option('--use-proxy-protocol', "require a PROXY v1/v2 header on the proxy's public listeners (a real NLB in front)")
    .option('--drain-timeout <duration>', 'how long SIGTERM waits for in-flight requests', parseDurationMs, 30_000)
    .option('--drain-grace <duration>', 'on SIGTERM, how long an idle or new connection may still send a request (at most --drain-timeout)', parseDurationMs, 1000)
    .option('--tls-ticket-key-rotation <duration>', "how often the TLS session ticket keys (the load balancer's and the proxy's, each shared by its workers) are replaced, 1s to 24h", parseRotation, 3_600_000)
    .option('--no-access-log', 'do not log one line per request')
    .option('--preserve-external-request-id', "keep the X-Request-Id an edge request comes with (Envoy's preserve_external_request_id, as Contour sets it; the default)")
    .option('--no-preserve-external-request-id', 'replace the X-Request-Id of every edge request (one from outside the internal address ranges, or with X-Forwarded-For) with a new one')
    .option('--co-located', 'run the proxy inside the load balancer workers: faster (no loopback hop), but the edge key is then in the processes that serve HTTP')
    .option('--kubernetes', 'watch the Kubernetes API instead of a folder')
    .option('--kubeconfig <file>', 'kubeconfig for --kubernetes (default: in-cluster, then KUBECONFIG, then ~/.kube/config)')
    .option('--namespace <ns>', 'watch only this namespace (repeatable; default all)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (dir: string | undefined, flags: ServeFlags) => {
      const roles = parseRoles(flags.roles);
      if (flags.kubernetes && dir) throw new CliError('give either DIR or --kubernetes, not both');
      if (!flags.kubernetes && !dir) throw new CliError('missing DIR: the folder of manifests to serve (or --kubernetes to watch a cluster)');
      if (!flags.kubernetes && (flags.kubeconfig || flags.namespace.length > 0)) {
        throw new CliError('--kubeconfig and --namespace need --kubernetes');
      }
      if (flags.coLocated && !(roles.has('proxy') && roles.has('balancer'))) {
        throw new CliError('--co-located needs both the proxy and balancer roles (--roles dag,proxy,balancer)');
      }
      if (flags.drainGrace > flags.drainTimeout) {
        throw new CliError(`--drain-grace ${flags.drainGrace} ms is longer than --drain-timeout ${flags.drainTimeout} ms: the drain would end first`);
      }
      if (flags.lbPortOffset + 1 > 65535) throw new CliError(`--lb-port-offset ${flags.lbPortOffset} leaves no valid port`);
      const config = await loadConfigFile(flags.config, {
        onWarning: (w) => process.stderr.write(`isobar: warning: ${w.file}${w.line !== undefined ? `:${w.line}` : ''}: ${w.message}\n`),
      }).catch((err: unknown) => {
        if (err instanceof ConfigError) throw new CliError(err.message.split('\n').join('; '), EXIT_USAGE);
        throw err;
      });
      const absDir = dir === undefined ? undefined : resolve(dir);
      // The Kubernetes client is only loaded when it is used.
      const { KubeSource, KubeStatusSink } = flags.kubernetes ? await import('../kube/index.ts') : ({} as typeof import('../kube/index.ts'));
      let kube: { source: InstanceType<typeof KubeSource>; cache: Parameters<ServeOptions['createSource']>[0] } | undefined;
      const createSource: ServeOptions['createSource'] = (cache, logger) => {
        if (!flags.kubernetes) return new FolderSource(absDir!, cache, { watch: true }) as unknown as Source;
        const source = new KubeSource(cache, { kubeconfig: flags.kubeconfig, namespaces: flags.namespace, logger, config });
        kube = { source, cache };
        return source as unknown as Source;
      };
      // In a cluster the statuses also go back to the API server, written by
      // the replica that holds the Lease.
      const createStatusSink: ServeOptions['createStatusSink'] = flags.kubernetes
        ? (logger, hooks) =>
            new KubeStatusSink({
              onStatusUpdate: hooks.onStatusUpdate,
              kubeconfig: flags.kubeconfig,
              logger,
              source: kube!.source,
              cache: kube!.cache,
              ingressService: config.ingressService,
              statusAddress: config.ingressStatusAddress,
              writeServiceStatus: roles.has('balancer'),
            })
        : undefined;
      const running = await startServe({
        dir: absDir,
        config,
        configPath: flags.config,
        stateDir: resolve(flags.stateDir),
        roles,
        workers: flags.workers,
        httpPort: flags.httpPort,
        httpsPort: flags.httpsPort,
        proxyAddress: flags.proxyAddress,
        lbAddress: flags.lbAddress,
        lbPortOffset: flags.lbPortOffset,
        adminPort: flags.adminPort,
        adminAddress: flags.adminAddress,
        logFormat: flags.logFormat,
        useProxyProtocol: Boolean(flags.useProxyProtocol),
        drainTimeoutMs: flags.drainTimeout,
        ticketKeyRotationMs: flags.tlsTicketKeyRotation,
        proxy: { ...configProxySettings(config), accessLog: flags.accessLog, preserveExternalRequestId: flags.preserveExternalRequestId !== false, drainGraceMs: flags.drainGrace },
        coLocated: Boolean(flags.coLocated),
        createSource,
        createStatusSink,
      });
      const onSignal = (): void => void running.stop();
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      setExitCode(await running.done);
    });
}

/** serve(), with start-up errors the user can fix turned into exit 2. */
async function startServe(o: ServeOptions): ReturnType<typeof serve> {
  try {
    return await serve(o);
  } catch (err) {
    if (err instanceof StartError) throw new CliError(err.message, EXIT_USAGE);
    if (err instanceof Error && err.name === 'KubeConfigError') throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

function parseRoles(value: string): Set<Role> {
  const roles = new Set<Role>();
  for (const raw of value.split(',')) {
    const r = raw.trim();
    if (r === '') continue;
    if (!ROLES.includes(r as Role)) throw new CliError(`--roles: unknown role "${r}" (choose from ${ROLES.join(', ')})`, EXIT_USAGE);
    roles.add(r as Role);
  }
  if (roles.size === 0) throw new CliError('--roles: name at least one of dag, proxy, balancer');
  if (!roles.has('dag')) {
    throw new CliError('--roles must include dag: the proxy and balancer get their configuration from it');
  }
  return roles;
}
