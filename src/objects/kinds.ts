// Which (apiVersion, kind) pairs isobar reads. Anything else in a manifests
// folder (Deployments, ConfigMaps, ...) is skipped with a warning.

import type { Kind } from './types.ts';

/** Every apiVersion a kind is read in, the preferred (storage) one first:
 *  an API that serves a kind in several versions (the Gateway API's v1 and
 *  v1beta1) lists them all. */
export const API_VERSIONS: Readonly<Record<Kind, readonly [string, ...string[]]>> = {
  HTTPProxy: ['projectcontour.io/v1'],
  TLSCertificateDelegation: ['projectcontour.io/v1'],
  ExtensionService: ['projectcontour.io/v1alpha1'],
  // The Gateway API CRDs still serve v1beta1 (ReferenceGrant's storage
  // version) and, in the experimental channel, BackendTLSPolicy v1alpha3,
  // each with the same fields as v1.
  GatewayClass: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  Gateway: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  HTTPRoute: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  ReferenceGrant: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  BackendTLSPolicy: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1alpha3'],
  GRPCRoute: ['gateway.networking.k8s.io/v1'],
  TLSRoute: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1alpha3', 'gateway.networking.k8s.io/v1alpha2'],
  TCPRoute: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1alpha2'],
  Service: ['v1'],
  Secret: ['v1'],
  Endpoints: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1'],
  Namespace: ['v1'],
  ConfigMap: ['v1'],
  Ingress: ['networking.k8s.io/v1'],
  IngressClass: ['networking.k8s.io/v1'],
};

export function knownKind(apiVersion: string, kind: string): Kind | undefined {
  if (!Object.hasOwn(API_VERSIONS, kind)) return undefined;
  const k = kind as Kind;
  return API_VERSIONS[k].includes(apiVersion) ? k : undefined;
}

const groupOf = (apiVersion: string): string => {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
};

/** The versions isobar reads of a kind in apiVersion's API group, when it
 *  reads that kind of that group in other versions only (a v1alpha1
 *  HTTPProxy: no server serves it, and kubectl apply refuses it); undefined
 *  for a kind of another group (Istio's Gateway, Knative's Service) or one
 *  read in this version. */
export function otherVersions(apiVersion: string, kind: string): readonly string[] | undefined {
  if (!Object.hasOwn(API_VERSIONS, kind)) return undefined;
  const versions = API_VERSIONS[kind as Kind];
  if (versions.includes(apiVersion)) return undefined;
  const group = groupOf(apiVersion);
  return versions.some((v) => groupOf(v) === group) ? versions : undefined;
}

/** `List` and `<Kind>List` (what `kubectl get -o yaml` writes) hold `items`. */
export function isListKind(kind: string): boolean {
  return kind === 'List' || (kind.endsWith('List') && kind.length > 4);
}

/** Kinds without a namespace: their metadata.namespace is "". */
export const CLUSTER_SCOPED: ReadonlySet<Kind> = new Set<Kind>(['IngressClass', 'GatewayClass', 'Namespace']);
