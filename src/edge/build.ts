// The one pipeline: a snapshot of the object cache, the config file and the
// certificate store's certificates -> the proxy's config, the load
// balancers' config and the status of every object. `serve` rebuilds with
// one EdgeBuilder kept across reloads; `status`, `check`, `config` and the
// tests build once. Both are the same code, so they cannot drift apart.
//
// Pure as the builders it runs: the time is an input (certificate expiry
// warnings), and the only clock read times the dag for the debug log.
import type { IsobarConfig } from '../config/index.ts';
import type { Snapshot } from '../objects/index.ts';
import { DagBuilder, type DagResult, type ProxyConfig } from '../dag/index.ts';
import { withGatewayAddresses } from './gateway-addresses.ts';
import { buildBalancerModel, type BalancerConfig, type CertificateStoreProblem, type EdgeCertificate } from '../balancer/index.ts';
import type { IngressStatus, LoadBalancerIngressStatus, ServiceStatus, StatusReport } from '../status/index.ts';

export interface EdgeInput {
  snapshot: Snapshot;
  config: IsobarConfig;
  /** What the certificate store holds (metadata only, never a key). */
  certificates: EdgeCertificate[];
  /** Store files that could not be read (a damaged master.key, a damaged record). */
  storeProblems?: CertificateStoreProblem[];
  /** Where internet-facing load balancer listeners bind (serve --lb-address); default 127.0.0.1. */
  lbAddress?: string;
  /** A Service port P listens on P + portOffset (serve --lb-port-offset). */
  portOffset: number;
  /** The current time (ms or ISO 8601): certificates in use that expire soon get a warning. */
  now?: number | string;
}

export interface EdgeResult {
  proxyConfig: ProxyConfig;
  balancerConfig: BalancerConfig;
  /** HTTPProxy statuses from the dag, Service statuses from the balancer model, in builder order. */
  statuses: StatusReport;
}

/** What the last build cost, for the reload debug log. */
export interface EdgeBuildStats {
  dagMs: number;
  /** Roots the dag computed afresh (the rest were reused from the build before). */
  rootsRecomputed: number;
}

/** Builds one snapshot after another. The dag recomputes only the roots
 *  whose inputs changed, and a Service whose annotations stop building
 *  keeps the load balancer of the build before. */
export class EdgeBuilder {
  readonly #dag: DagBuilder;
  #previous: BalancerConfig | undefined;
  stats: EdgeBuildStats = { dagMs: 0, rootsRecomputed: 0 };

  /** oneShot: a builder used once records no dependencies between builds. */
  constructor(opts: { oneShot?: boolean } = {}) {
    this.#dag = new DagBuilder({ oneShot: opts.oneShot });
  }

  build(input: EdgeInput): EdgeResult {
    const d0 = performance.now();
    const dag = this.#dag.build(input.snapshot, input.config);
    this.stats = { dagMs: Math.round(performance.now() - d0), rootsRecomputed: this.#dag.recomputed };
    // Load balancers Gateways ask for are Services like any other to the balancer.
    const gatewayLbs = dag.gatewayLoadBalancers ?? [];
    const lbSnapshot = gatewayLbs.length > 0 ? { ...input.snapshot, services: [...input.snapshot.services, ...gatewayLbs] } : input.snapshot;
    const lb = buildBalancerModel(lbSnapshot, {
      ...(gatewayLbs.length > 0 ? { proxyServices: new Set(gatewayLbs.map((s) => `${s.metadata.namespace}/${s.metadata.name}`)) } : {}),
      config: input.config,
      certificates: input.certificates,
      storeProblems: input.storeProblems,
      lbAddress: input.lbAddress,
      portOffset: input.portOffset,
      previous: this.#previous,
      now: input.now,
    });
    this.#previous = lb.balancerConfig;
    const front = ingressServiceAddress(lb.statuses, input);
    const ingresses = withLoadBalancer(dag.ingresses, front);
    return {
      proxyConfig: dag.proxyConfig,
      balancerConfig: lb.balancerConfig,
      statuses: { httpproxies: dag.statuses, services: lb.statuses, extensionservices: dag.extensionServices, ingresses, ...withGatewayAddresses(dag.gatewayApi, lb.statuses, gatewayLbs, front, input.snapshot.gateways ?? []) },
    };
  }
}

/** The address of the Service in front of the proxy (config
 *  ingress.service), as Contour reads the Envoy Service's: config
 *  ingress-status-address when set, else from the balancer model when it
 *  serves that Service, else from the Service's own status (a real NLB's
 *  controller wrote it). */
function ingressServiceAddress(services: ServiceStatus[], input: EdgeInput): LoadBalancerIngressStatus[] {
  if (input.config.ingressStatusAddress) return input.config.ingressStatusAddress.map((a) => ({ ...a }));
  const ref = input.config.ingressService;
  const own = services.find((s) => s.namespace === ref.namespace && s.name === ref.name);
  const svc = input.snapshot.services.find((s) => s.metadata.namespace === ref.namespace && s.metadata.name === ref.name);
  const from = own && own.ingress.length > 0 ? own.ingress : (svc?.status?.loadBalancer?.ingress ?? []);
  return from.map((i) => {
    const e: LoadBalancerIngressStatus = {};
    if (i.hostname) e.hostname = i.hostname;
    if (i.ip) e.ip = i.ip;
    if (i.ports && i.ports.length > 0) e.ports = i.ports.map((p) => ({ port: p.port, protocol: p.protocol }));
    return e;
  });
}

/** status.loadBalancer of each served Ingress, as Contour writes it: the
 *  address of the Service in front of the proxy. */
function withLoadBalancer(ingresses: IngressStatus[], front: LoadBalancerIngressStatus[]): IngressStatus[] {
  if (ingresses.length === 0) return ingresses;
  return ingresses.map((i) => (i.served ? { ...i, loadBalancer: { ingress: front } } : i));
}

/** One build, from nothing: what `edge.build()` in DESIGN.md means. */
export function build(input: EdgeInput): EdgeResult {
  return new EdgeBuilder({ oneShot: true }).build(input);
}
