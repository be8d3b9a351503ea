// Status as data: produced by the pure builders, rendered by the CLI and
// written back by the Kubernetes sink. Field names follow Contour's
// HTTPProxy status and the Service load balancer status.

export interface SubCondition {
  type: string; // e.g. "ServiceError", "TLSError", "Orphaned"
  status: 'True';
  reason: string;
  message: string;
}

export interface DetailedCondition {
  type: 'Valid';
  status: 'True' | 'False';
  observedGeneration: number;
  reason: string; // "Valid" | "ErrorPresent" | "Orphaned"
  message: string;
  errors?: SubCondition[];
  warnings?: SubCondition[];
}

export type CurrentStatus = 'valid' | 'invalid' | 'orphaned';

export interface HTTPProxyStatus {
  namespace: string;
  name: string;
  fqdn: string; // "" for non-root proxies
  currentStatus: CurrentStatus;
  description: string;
  conditions: DetailedCondition[];
  /** The TLS secret name as written (for `-o table`'s TLS SECRET column). */
  tlsSecret?: string;
}

export interface ServiceListenerStatus {
  port: number; // the Service port
  address: string; // where it listens locally, "127.0.0.1:10443"
  protocol: 'TCP' | 'TLS';
  certificates: string[]; // ARNs, default first
  policy?: string; // negotiation policy name, TLS only
  alpn?: string[]; // offered ALPN protocols, TLS only
  targetProtocol: 'TCP' | 'TLS';
  proxyProtocol: boolean;
  /** Client ranges (CIDR) allowed to connect; everyone is 0.0.0.0/0 and ::/0. */
  sourceRanges: string[];
  /** While serving: connections refused for coming from outside sourceRanges. */
  refusedConnections?: number;
  targets: { address: string; port: number; health: 'healthy' | 'unhealthy' | 'initial' | 'draining' | 'unknown' }[];
}

export interface ServiceProblem {
  severity: 'error' | 'warning';
  /** The annotation or field it concerns, e.g.
   *  "service.beta.kubernetes.io/aws-load-balancer-ssl-ports". */
  field?: string;
  message: string;
}

export interface ServiceStatus {
  namespace: string;
  name: string;
  listeners: ServiceListenerStatus[];
  ingress: { hostname: string; ip?: string; ports?: { port: number; protocol: string }[] }[];
  problems: ServiceProblem[];
}

/** An ExtensionService's status: one `Valid` condition (Contour's). */
export interface ExtensionServiceStatus {
  namespace: string;
  name: string;
  conditions: DetailedCondition[];
}

// ---- Gateway API: the status shapes of gateway.networking.k8s.io/v1 ----------

/** A metav1.Condition as the Gateway API writes it (lastTransitionTime is
 *  the writer's to add: the builders read no clock). */
export interface ApiCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration: number;
}

export interface GatewayClassStatus {
  /** "" : GatewayClass is cluster-scoped. */
  namespace: string;
  name: string;
  conditions: ApiCondition[];
}

export interface ListenerStatus {
  name: string;
  supportedKinds: { group: string; kind: string }[];
  attachedRoutes: number;
  conditions: ApiCondition[];
}

export interface GatewayStatus {
  namespace: string;
  name: string;
  addresses: { type: string; value: string }[];
  conditions: ApiCondition[];
  listeners: ListenerStatus[];
}

export interface ParentReference {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions: ApiCondition[];
}

/** A route's status: one entry per parentRef this controller serves. */
export interface RouteStatus {
  namespace: string;
  name: string;
  parents: RouteParentStatus[];
}

/** A policy's status (BackendTLSPolicy): one entry per ancestor (Gateway). */
export interface PolicyStatus {
  namespace: string;
  name: string;
  ancestors: { ancestorRef: ParentReference; controllerName: string; conditions: ApiCondition[] }[];
}

/** Something about an Ingress the user should know: an error means part of
 *  it is not served (it names what), a warning that a value was replaced by
 *  Contour's default. Kubernetes has no condition for either. */
export interface IngressProblem {
  severity: 'error' | 'warning';
  /** The annotation or field it concerns, e.g. "spec.rules[0].http.paths[1].backend". */
  field?: string;
  message: string;
}

/** An Ingress's status as Contour writes it (status.loadBalancer: the
 *  address of the Service in front of the proxy, config ingress.service),
 *  with what `kubectl get ingress` shows and the problems found. */
export interface IngressStatus {
  namespace: string;
  name: string;
  /** The class it names (annotation first, as Contour), "" for none. */
  className: string;
  /** Whether isobar serves it (its class is isobar's); others get no status. */
  served: boolean;
  /** Rule hosts, "*" for a rule without one (the default backend's too). */
  hosts: string[];
  /** 80, and 443 when it has tls. */
  ports: number[];
  loadBalancer: { ingress: LoadBalancerIngressStatus[] };
  problems: IngressProblem[];
}

export interface LoadBalancerIngressStatus {
  hostname?: string;
  ip?: string;
  ports?: { port: number; protocol: string }[];
}

/** `isobar status -o json` prints exactly this, every array sorted by
 *  namespace then name; extensionservices and ingresses only when there
 *  is one. */
export interface StatusReport {
  httpproxies: HTTPProxyStatus[];
  services: ServiceStatus[];
  extensionservices?: ExtensionServiceStatus[];
  /** Gateway API kinds: only when the snapshot holds one of them. */
  gatewayclasses?: GatewayClassStatus[];
  gateways?: GatewayStatus[];
  httproutes?: RouteStatus[];
  grpcroutes?: RouteStatus[];
  tlsroutes?: RouteStatus[];
  tcproutes?: RouteStatus[];
  ingresses?: IngressStatus[];
  backendtlspolicies?: PolicyStatus[];
}
