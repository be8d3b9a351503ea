// The one path from a manifests folder to statuses: load DIR and the config
// file, run the dag and the balancer model, and collect everything the
// status / check / config commands print.

import type { IsobarConfig } from '../config/types.ts';
import type { ConfigProblem } from '../config/load.ts';
import { readConfigFile } from '../config/load.ts';
import { defaultConfig } from '../config/types.ts';
import { ObjectCache } from '../objects/cache.ts';
import type { LoadOptions, LoadResult } from '../objects/loader.ts';
import { loadFolder } from '../objects/loader.ts';
import type { Snapshot } from '../objects/types.ts';
import { build } from '../dag/index.ts';
import type { ProxyConfig } from '../dag/index.ts';
import { buildBalancerModel } from '../balancer/index.ts';
import type { BalancerConfig, EdgeCertificate } from '../balancer/index.ts';
import { CertificateStore, defaultStateDir, toEdgeCertificate } from '../certs/index.ts';
import type { HTTPProxyStatus, ServiceStatus, StatusReport } from './types.ts';
import { contractReport, problemText } from './render.ts';

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
  let certificates = opts.certificates;
  if (!certificates) {
    const stateDir = opts.stateDir ?? defaultStateDir();
    try {
      const store = await CertificateStore.open(stateDir, { readOnly: true, region: config.aws.region, account: config.aws.account });
      const scan = await store.scan();
      certificates = scan.records.map(toEdgeCertificate);
      for (const p of scan.problems) storeProblems.push(`certificate store: ${p.file}: ${p.message}`);
    } catch (err) {
      storeProblems.push(`certificate store ${stateDir}: ${err instanceof Error ? err.message : String(err)}`);
      certificates = [];
    }
  }
  const { proxyConfig, statuses } = build(snapshot, config);
  const model = buildBalancerModel(snapshot, {
    config,
    certificates,
    lbAddress: opts.lbAddress ?? '127.0.0.1',
    portOffset: opts.portOffset ?? 0,
    // Warn about certificates in use that expire soon: the time is an
    // input, so the model stays pure.
    now: Date.now(),
  });
  return {
    load,
    config,
    configWarnings,
    storeProblems,
    snapshot,
    proxyConfig,
    balancerConfig: model.balancerConfig,
    status: statusReport(statuses, model.statuses),
  };
}

export function statusReport(httpproxies: HTTPProxyStatus[], services: ServiceStatus[]): StatusReport {
  // keep tlsSecret for the table; contractReport() drops it for JSON/YAML
  const sorted = contractReport({ httpproxies, services });
  const tls = new Map(httpproxies.map((p) => [`${p.namespace}/${p.name}`, p.tlsSecret]));
  return {
    httpproxies: sorted.httpproxies.map((p) => {
      const t = tls.get(`${p.namespace}/${p.name}`);
      return t === undefined ? p : { ...p, tlsSecret: t };
    }),
    services: sorted.services,
  };
}

export interface Findings {
  invalid: HTTPProxyStatus[];
  orphaned: HTTPProxyStatus[];
  serviceErrors: { namespace: string; name: string; message: string }[];
  loadErrors: number;
}

/** What makes `check` (and `status`) exit 1. */
export function findings(r: Report): Findings {
  return {
    invalid: r.status.httpproxies.filter((p) => p.currentStatus === 'invalid'),
    orphaned: r.status.httpproxies.filter((p) => p.currentStatus === 'orphaned'),
    serviceErrors: r.status.services.flatMap((s) =>
      s.problems.filter((p) => p.severity === 'error').map((p) => ({ namespace: s.namespace, name: s.name, message: problemText(p, s) })),
    ),
    loadErrors: r.load.errors.length,
  };
}

export function hasFindings(f: Findings): boolean {
  return f.invalid.length + f.orphaned.length + f.serviceErrors.length + f.loadErrors > 0;
}
