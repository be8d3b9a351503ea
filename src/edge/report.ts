// The report the `status`, `check` and `config` commands print: load a
// manifests folder and the config file, read the certificate store, and
// run the one pipeline (build.ts) on them.

import type { ConfigProblem, IsobarConfig } from '../config/index.ts';
import { defaultConfig, readConfigFile } from '../config/index.ts';
import { ObjectCache, loadFolder, type LoadOptions, type LoadResult, type Snapshot } from '../objects/index.ts';
import type { ProxyConfig } from '../dag/index.ts';
import type { BalancerConfig, CertificateStoreProblem, EdgeCertificate } from '../balancer/index.ts';
import { CertificateStore, defaultStateDir, toEdgeCertificate } from '../certs/index.ts';
import { contractReport } from '../status/index.ts';
import type { ExtensionServiceStatus, HTTPProxyStatus, IngressStatus, ServiceStatus, StatusReport } from '../status/index.ts';
import { build } from './build.ts';

export interface ReportOptions extends LoadOptions {
  /** Path of the config file; defaults when absent. */
  configFile?: string;
  /** An already parsed config (wins over configFile). */
  config?: IsobarConfig;
  /** Certificate store folder; default $ISOBAR_STATE_DIR or ~/.isobar. */
  stateDir?: string;
  /** Certificates to use instead of reading the store. */
  certificates?: EdgeCertificate[];
  lbAddress?: string;
  portOffset?: number;
}

export interface Report {
  load: LoadResult;
  config: IsobarConfig;
  configWarnings: ConfigProblem[];
  /** Problems reading the certificate store (statuses are still built). */
  storeProblems: string[];
  snapshot: Snapshot;
  proxyConfig: ProxyConfig;
  balancerConfig: BalancerConfig;
  status: StatusReport;
}

/** Throws ManifestFolderError (DIR unreadable) or ConfigError (bad config
 *  file); every other problem is inside the report. */
export async function buildReport(dir: string, opts: ReportOptions = {}): Promise<Report> {
  let config = opts.config;
  let configWarnings: ConfigProblem[] = [];
  if (!config) {
    if (opts.configFile !== undefined) {
      const loaded = await readConfigFile(opts.configFile);
      config = loaded.config;
      configWarnings = loaded.warnings;
    } else config = defaultConfig();
  }
  const load = await loadFolder(dir, { ...opts, displayDir: opts.displayDir });
  const cache = new ObjectCache();
  cache.replaceAll(load.objects, load.rejected);
  const snapshot = cache.snapshot();

  const storeProblems: string[] = [];
  const unreadable: CertificateStoreProblem[] = [];
  const certificates = opts.certificates ?? (await readCertificates(opts.stateDir ?? defaultStateDir(), config, storeProblems, unreadable));
  const { proxyConfig, balancerConfig, statuses } = build({
    snapshot,
    config,
    certificates,
    storeProblems: unreadable,
    lbAddress: opts.lbAddress ?? '127.0.0.1',
    portOffset: opts.portOffset ?? 0,
    // Warn about certificates in use that expire soon: the time is an
    // input, so the builders stay pure.
    now: Date.now(),
  });
  return {
    load,
    config,
    configWarnings,
    storeProblems,
    snapshot,
    proxyConfig,
    balancerConfig,
    status: { ...statusReport(statuses.httpproxies, statuses.services, statuses.extensionservices, statuses.ingresses), ...gatewayApiReport(statuses) },
  };
}

/** The store's certificates; a store that cannot be read is a problem in
 *  the report, not an error (the statuses then say what is missing). */
async function readCertificates(stateDir: string, config: IsobarConfig, problems: string[], unreadable: CertificateStoreProblem[]): Promise<EdgeCertificate[]> {
  try {
    const store = await CertificateStore.open(stateDir, { readOnly: true, region: config.aws.region, account: config.aws.account });
    const scan = await store.scan();
    unreadable.push(...scan.problems);
    for (const p of scan.problems) problems.push(`certificate store: ${p.message.startsWith(p.file) ? p.message : `${p.file}: ${p.message}`}`);
    return scan.records.map(toEdgeCertificate);
  } catch (err) {
    problems.push(`certificate store ${stateDir}: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
}

const GATEWAY_API_KEYS = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'backendtlspolicies'] as const;
type GatewayApiReport = Pick<StatusReport, (typeof GATEWAY_API_KEYS)[number]>;

/** The Gateway API arrays of a report, each sorted, when it has them. */
export function gatewayApiReport(r: StatusReport): GatewayApiReport {
  const c = contractReport({ ...r, httpproxies: [], services: [] });
  const out: GatewayApiReport = {};
  for (const k of GATEWAY_API_KEYS) if (c[k]) (out as Record<string, unknown>)[k] = c[k];
  return out;
}

export function statusReport(
  httpproxies: HTTPProxyStatus[],
  services: ServiceStatus[],
  extensionservices: ExtensionServiceStatus[] = [],
  ingresses: IngressStatus[] = [],
): StatusReport {
  // keep tlsSecret for the table; contractReport() drops it for JSON/YAML
  const sorted = contractReport({ httpproxies, services, extensionservices, ingresses });
  const tls = new Map(httpproxies.map((p) => [`${p.namespace}/${p.name}`, p.tlsSecret]));
  return {
    httpproxies: sorted.httpproxies.map((p) => {
      const t = tls.get(`${p.namespace}/${p.name}`);
      return t === undefined ? p : { ...p, tlsSecret: t };
    }),
    services: sorted.services,
    ...(sorted.extensionservices ? { extensionservices: sorted.extensionservices } : {}),
    ...(sorted.ingresses ? { ingresses: sorted.ingresses } : {}),
  };
}
