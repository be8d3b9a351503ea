// KubeStatusSink: what `isobar serve --kubernetes` plugs in as the
// primary's status sink. Bundles a StatusWriter with a Lease election, so
// only the replica that holds the Lease writes, and waits for the source's
// first full sync before writing (a half-listed cluster would yield wrong
// statuses).

import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { StatusReport } from '../status/index.ts';
import type { ObjectCache, Service } from '../objects/index.ts';
import type { NamespacedName } from '../config/index.ts';
import type { KubeSource } from './kube-source.ts';
import { LeaderElector } from './leader.ts';
import { GATEWAY_KINDS, type GatewayKind } from './gateway-status.ts';
import { StatusWriter, type StatusWriterOptions } from './status-writer.ts';

export interface KubeStatusSinkOptions {
  kubeconfig?: string;
  logger?: Logger;
  /** The API source: statuses wait for its initial sync (a half-listed
   *  cluster would yield wrong statuses) and its view of current statuses
   *  keeps a new leader from rewriting them. */
  source?: KubeSource;
  /** Where the ingress Service's address is read when the report does not
   *  carry it (a real NLB's controller writes it). */
  cache?: ObjectCache;
  /** The Service in front of the proxy (config ingress.service): its address
   *  goes into every HTTPProxy's status.loadBalancer, as Contour does. */
  ingressService?: NamespacedName;
  /** Config ingress-status-address: this address instead of the ingress Service's. */
  statusAddress?: { ip?: string; hostname?: string }[];
  /** Write Service status.loadBalancer.ingress: only when this process runs
   *  the balancer (otherwise the cloud controller owns that field). */
  writeServiceStatus?: boolean;
  /** Lease to elect the status writer; false: this process always writes. */
  leaderElection?:
    | false
    | { namespace?: string; name?: string; identity?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  qps?: number;
  burst?: number;
  /** Every status update, for the metrics (contour_status_update_*). */
  onStatusUpdate?: StatusWriterOptions['onUpdate'];
}

/** StatusWriter + LeaderElector behind the primary's StatusSink interface
 *  ({ write(report), stop() }). */
export class KubeStatusSink {
  readonly writer: StatusWriter;
  readonly elector: LeaderElector | undefined;
  #o: KubeStatusSinkOptions;
  #held: StatusReport | undefined;
  #last: StatusReport | undefined;
  #onStatus = (kind: string, namespace: string, name: string): void => {
    if (kind === 'HTTPProxy' || kind === 'ExtensionService' || kind === 'Ingress' || (kind === 'Service' && this.#o.writeServiceStatus)) this.writer.recheck(kind, namespace, name);
    else if ((GATEWAY_KINDS as readonly string[]).includes(kind)) this.writer.recheck(kind as GatewayKind, namespace, name);
  };
  #onReady = (): void => {
    const r = this.#held;
    this.#held = undefined;
    if (r) this.write(r);
  };

  constructor(o: KubeStatusSinkOptions = {}) {
    this.#o = o;
    this.writer = new StatusWriter({
      kubeconfig: o.kubeconfig,
      logger: o.logger,
      qps: o.qps,
      burst: o.burst,
      onUpdate: o.onStatusUpdate,
      observedStatus: o.source ? (k, ns, n) => o.source!.observedStatus(k, ns, n) : undefined,
      servedAt: o.source ? (k) => o.source!.servedAt(k) : undefined,
      proxyIngress: o.ingressService || o.statusAddress ? () => this.#ingress(this.#last) : undefined,
    });
    o.source?.on('ready', this.#onReady);
    o.source?.on('status', this.#onStatus);
    if (o.leaderElection === false) {
      this.writer.setLeader(true);
    } else {
      const le = o.leaderElection ?? {};
      this.elector = new LeaderElector({
        kubeconfig: o.kubeconfig,
        logger: o.logger,
        namespace: le.namespace ?? process.env.POD_NAMESPACE ?? inClusterNamespace() ?? 'projectcontour',
        name: le.name ?? 'isobar',
        identity: le.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
      });
      this.elector.on('started-leading', () => this.writer.setLeader(true));
      this.elector.on('stopped-leading', () => this.writer.setLeader(false));
      try {
        this.elector.start();
      } catch (err) {
        // A kubeconfig that cannot be loaded: the source's start() reports it
        // (KubeConfigError) as the one error the user sees; nothing to elect.
        o.logger?.debug({ err: (err as Error).message }, 'leader election not started');
      }
    }
  }

  write(report: StatusReport): void {
    if (this.#o.source && !this.#o.source.ready()) {
      this.#held = report; // the latest one is written once the source is ready
      return;
    }
    this.#last = report;
    this.writer.write(report.httpproxies, this.#o.writeServiceStatus ? report.services : [], report.extensionservices ?? [], this.#ingresses(report), {
      gatewayclasses: report.gatewayclasses,
      gateways: report.gateways,
      httproutes: report.httproutes,
      grpcroutes: report.grpcroutes,
      tlsroutes: report.tlsroutes,
      tcproutes: report.tcproutes,
      backendtlspolicies: report.backendtlspolicies,
    });
  }

  /** This replica holds the Lease (or runs without election): it is the one that renews certificates. */
  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.#o.leaderElection === false;
  }

  /** Calls `listener` each time this replica becomes the leader (a renewal
   *  due while it stood by is then checked at once, not a standby later). */
  onStartedLeading(listener: () => void): void {
    this.elector?.on('started-leading', listener);
  }

  async stop(): Promise<void> {
    this.#o.source?.off('ready', this.#onReady);
    this.#o.source?.off('status', this.#onStatus);
    await this.elector?.stop();
    await this.writer.stop();
  }

  /** Ingress statuses with the same address as the HTTPProxies' (the edge
   *  fills it from the snapshot, which can lag the Service's own status). */
  #ingresses(report: StatusReport) {
    const list = report.ingresses ?? [];
    if (list.length === 0 || (!this.#o.ingressService && !this.#o.statusAddress)) return list;
    const ingress = this.#ingress(report);
    return list.map((i) => (i.served ? { ...i, loadBalancer: { ingress } } : i));
  }

  #ingress(report: StatusReport | undefined) {
    if (this.#o.statusAddress) return this.#o.statusAddress;
    const svc = this.#o.ingressService!;
    const own = report?.services.find((s) => s.namespace === svc.namespace && s.name === svc.name);
    if (own && this.#o.writeServiceStatus) return own.ingress;
    const obj = this.#o.cache?.get('Service', svc.namespace, svc.name)?.object as Service | undefined;
    return obj?.status?.loadBalancer?.ingress ?? [];
  }
}

/** The namespace of the pod this runs in, from the ServiceAccount mount. */
function inClusterNamespace(): string | undefined {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
