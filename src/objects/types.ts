// Kubernetes object shapes isobar reads. Core objects type only the fields
// isobar uses; the projectcontour.io kinds are typed from their schemas
// (every field). Everything arrives from YAML/JSON or the API server, so
// every field is optional until the schema validator (schema.ts) has
// checked it.

import type { ValueOf } from './schemas/builders.ts';
import type { httpProxySpecSchema, tlsCertificateDelegationSpecSchema } from './schemas/httpproxy.ts';
import type { extensionServiceSpecSchema } from './schemas/extensionservice.ts';
import type { backendTLSPolicySpecSchema, gatewayClassSpecSchema, gatewaySpecSchema, grpcRouteSpecSchema, httpRouteSpecSchema, referenceGrantSpecSchema, tcpRouteSpecSchema, tlsRouteSpecSchema } from './schemas/gateway.ts';

export interface ObjectMeta {
  name: string;
  namespace: string; // "default" when the manifest omits it
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string; // RFC 3339, set by the API server
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

// ---- core/v1 ------------------------------------------------------------

export interface ServicePort {
  name?: string;
  protocol?: string; // "TCP" | "UDP" | "SCTP"
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface Service extends KubeObject {
  kind: 'Service';
  spec: {
    type?: string; // ClusterIP | NodePort | LoadBalancer | ExternalName
    ports?: ServicePort[];
    selector?: Record<string, string>;
    externalName?: string;
    externalTrafficPolicy?: string;
    loadBalancerClass?: string;
    healthCheckNodePort?: number;
    clusterIP?: string;
    loadBalancerSourceRanges?: string[];
  };
  status?: {
    loadBalancer?: { ingress?: LoadBalancerIngress[] };
  };
}

export interface LoadBalancerIngress {
  hostname?: string;
  ip?: string;
  ports?: { port: number; protocol: string }[];
}

export interface Secret extends KubeObject {
  kind: 'Secret';
  type: string; // defaults to "Opaque"
  // Decoded values: the loader merges `data` (base64) and `stringData`
  // (stringData wins), as the API server does.
  data: Record<string, string>;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface Endpoints extends KubeObject {
  kind: 'Endpoints';
  subsets?: {
    addresses?: EndpointAddress[];
    notReadyAddresses?: EndpointAddress[];
    ports?: EndpointPort[];
  }[];
}

/** Read for its labels: Gateway listeners select route namespaces by them. */
export interface Namespace extends KubeObject {
  kind: 'Namespace';
}

// ---- discovery.k8s.io/v1 ------------------------------------------------

export interface EndpointSlice extends KubeObject {
  kind: 'EndpointSlice';
  addressType: string; // IPv4 | IPv6 | FQDN
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  }[];
  ports?: EndpointPort[];
  // metadata.labels["kubernetes.io/service-name"] names the owning Service.
}

// ---- networking.k8s.io/v1 ------------------------------------------------

export interface IngressBackend {
  service?: { name: string; port?: { name?: string; number?: number } };
  resource?: { apiGroup?: string; kind: string; name: string };
}

export interface IngressPath {
  path?: string;
  pathType: string; // Exact | Prefix | ImplementationSpecific
  backend: IngressBackend;
}

export interface Ingress extends KubeObject {
  kind: 'Ingress';
  spec: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: { hosts?: string[]; secretName?: string }[];
    rules?: { host?: string; http?: { paths: IngressPath[] } }[];
  };
  status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
}

/** Cluster-scoped: metadata.namespace is "". */
export interface IngressClass extends KubeObject {
  kind: 'IngressClass';
  spec: { controller?: string; parameters?: Record<string, unknown> };
}

// ---- projectcontour.io/v1 -----------------------------------------------

/** An HTTPProxy's spec as the CRD schema accepts it: derived from the
 *  schema (schemas/httpproxy.ts), so a field is described once. */
export type HTTPProxySpec = ValueOf<typeof httpProxySpecSchema>;

export type HTTPProxyService = NonNullable<NonNullable<HTTPProxySpec['routes']>[number]['services']>[number];

export interface HTTPProxy extends KubeObject {
  kind: 'HTTPProxy';
  spec: HTTPProxySpec;
}

export interface TLSCertificateDelegation extends KubeObject {
  kind: 'TLSCertificateDelegation';
  spec: ValueOf<typeof tlsCertificateDelegationSpecSchema>;
}

// ---- projectcontour.io/v1alpha1 -------------------------------------------

/** An authorization server for HTTPProxies (external authorization). */
export interface ExtensionService extends KubeObject {
  kind: 'ExtensionService';
  spec: ValueOf<typeof extensionServiceSpecSchema>;
}

// ---- gateway.networking.k8s.io/v1 ------------------------------------------

/** Cluster-scoped: its namespace is whatever the loader defaulted (unused). */
export interface GatewayClass extends KubeObject {
  kind: 'GatewayClass';
  spec: ValueOf<typeof gatewayClassSpecSchema>;
}

export interface Gateway extends KubeObject {
  kind: 'Gateway';
  spec: ValueOf<typeof gatewaySpecSchema>;
}

export interface HTTPRoute extends KubeObject {
  kind: 'HTTPRoute';
  spec: ValueOf<typeof httpRouteSpecSchema>;
}

export interface GRPCRoute extends KubeObject {
  kind: 'GRPCRoute';
  spec: ValueOf<typeof grpcRouteSpecSchema>;
}

export interface TLSRoute extends KubeObject {
  kind: 'TLSRoute';
  spec: ValueOf<typeof tlsRouteSpecSchema>;
}

export interface TCPRoute extends KubeObject {
  kind: 'TCPRoute';
  spec: ValueOf<typeof tcpRouteSpecSchema>;
}

export interface ReferenceGrant extends KubeObject {
  kind: 'ReferenceGrant';
  spec: ValueOf<typeof referenceGrantSpecSchema>;
}

export interface BackendTLSPolicy extends KubeObject {
  kind: 'BackendTLSPolicy';
  spec: ValueOf<typeof backendTLSPolicySpecSchema>;
}

/** Read for the CA bundles BackendTLSPolicies name. */
export interface ConfigMap extends KubeObject {
  kind: 'ConfigMap';
  data?: Record<string, string>;
}

export type AnyObject =
  | HTTPProxy
  | TLSCertificateDelegation
  | ExtensionService
  | GatewayClass
  | Gateway
  | HTTPRoute
  | ReferenceGrant
  | GRPCRoute
  | TLSRoute
  | TCPRoute
  | BackendTLSPolicy
  | ConfigMap
  | Service
  | Secret
  | Endpoints
  | EndpointSlice
  | Namespace
  | Ingress
  | IngressClass;

export type Kind = AnyObject['kind'];

export const KINDS: readonly Kind[] = [
  'HTTPProxy',
  'TLSCertificateDelegation',
  'ExtensionService',
  'GatewayClass',
  'Gateway',
  'HTTPRoute',
  'ReferenceGrant',
  'GRPCRoute',
  'TLSRoute',
  'TCPRoute',
  'BackendTLSPolicy',
  'Service',
  'Secret',
  'Endpoints',
  'EndpointSlice',
  'Namespace',
  'Ingress',
  'IngressClass',
  'ConfigMap',
];

/** "Kind/namespace/name": the identity of an object across sources. */
export type ObjectKey = string;

export function objectKey(kind: string, namespace: string, name: string): ObjectKey {
  return `${kind}/${namespace}/${name}`;
}

const keys = new WeakMap<object, ObjectKey>();

/** objectKey of an object (or a file entry) that never changes, made once:
 *  every reload passes each unchanged object through several maps. */
export function keyOf(o: { kind: string; namespace: string; name: string } | AnyObject): ObjectKey {
  let k = keys.get(o);
  if (k === undefined) {
    k = 'metadata' in o ? objectKey(o.kind, o.metadata.namespace, o.metadata.name) : objectKey(o.kind, o.namespace, o.name);
    keys.set(o, k);
  }
  return k;
}

/** Where an object came from, for messages. */
export interface SourceRef {
  file?: string; // path relative to the manifests folder
  line?: number; // 1-based line of the document start
  origin?: string; // "kubernetes" for the API source
}

/** A field the schema rejected: `path` is a JSON-path-like string such as
 *  `spec.routes[0].services[1].port`. */
export interface FieldError {
  path: string;
  message: string;
}

/** An object the schema (CRD or core API) would have rejected. The builders
 *  never see it as valid input; HTTPProxies among them get an invalid status
 *  that names the field. */
export interface RejectedObject {
  kind: Kind;
  namespace: string;
  name: string;
  source: SourceRef;
  errors: FieldError[];
}

/** What the builders read: a consistent, immutable view of every object.
 *  Arrays are sorted by namespace then name. */
export interface Snapshot {
  httpproxies: HTTPProxy[];
  delegations: TLSCertificateDelegation[];
  services: Service[];
  secrets: Secret[];
  endpoints: Endpoints[];
  endpointSlices: EndpointSlice[];
  /** Absent: none (callers that build snapshots by hand may leave it out). */
  extensionServices?: ExtensionService[];
  /** Gateway API objects; absent: none. */
  gatewayClasses?: GatewayClass[];
  gateways?: Gateway[];
  httpRoutes?: HTTPRoute[];
  referenceGrants?: ReferenceGrant[];
  grpcRoutes?: GRPCRoute[];
  tlsRoutes?: TLSRoute[];
  tcpRoutes?: TCPRoute[];
  backendTLSPolicies?: BackendTLSPolicy[];
  configMaps?: ConfigMap[];
  /** Namespaces (cluster-scoped: read for their labels); absent: none. */
  namespaces?: Namespace[];
  /** Absent: none. */
  ingresses?: Ingress[];
  /** Absent: none. Cluster-scoped, sorted by name. */
  ingressClasses?: IngressClass[];
  rejected: RejectedObject[];
}
