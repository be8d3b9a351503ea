// The API resources isobar watches, and how their REST paths are built.

export interface ResourceType {
  kind:
    | 'HTTPProxy'
    | 'TLSCertificateDelegation'
    | 'ExtensionService'
    | 'Service'
    | 'Secret'
    | 'EndpointSlice'
    | 'Endpoints'
    | 'Ingress'
    | 'IngressClass'
    | 'GatewayClass'
    | 'Gateway'
    | 'HTTPRoute'
    | 'GRPCRoute'
    | 'TLSRoute'
    | 'TCPRoute'
    | 'ReferenceGrant'
    | 'BackendTLSPolicy'
    | 'Namespace'
    | 'ConfigMap';
  group: string; // "" for core/v1
  version: string;
  plural: string;
  /** Cluster-scoped: watched once, whatever namespaces are watched. */
  clusterScoped?: true;
}

export const HTTPPROXIES: ResourceType = { kind: 'HTTPProxy', group: 'projectcontour.io', version: 'v1', plural: 'httpproxies' };
export const DELEGATIONS: ResourceType = {
  kind: 'TLSCertificateDelegation',
  group: 'projectcontour.io',
  version: 'v1',
  plural: 'tlscertificatedelegations',
};
export const EXTENSIONSERVICES: ResourceType = { kind: 'ExtensionService', group: 'projectcontour.io', version: 'v1alpha1', plural: 'extensionservices' };
export const SERVICES: ResourceType = { kind: 'Service', group: '', version: 'v1', plural: 'services' };
export const SECRETS: ResourceType = { kind: 'Secret', group: '', version: 'v1', plural: 'secrets' };
export const ENDPOINTSLICES: ResourceType = { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' };
export const ENDPOINTS: ResourceType = { kind: 'Endpoints', group: '', version: 'v1', plural: 'endpoints' };
export const INGRESSES: ResourceType = { kind: 'Ingress', group: 'networking.k8s.io', version: 'v1', plural: 'ingresses' };
export const INGRESSCLASSES: ResourceType = { kind: 'IngressClass', group: 'networking.k8s.io', version: 'v1', plural: 'ingressclasses', clusterScoped: true };

const GW = 'gateway.networking.k8s.io';
export const GATEWAYCLASSES: ResourceType = { kind: 'GatewayClass', group: GW, version: 'v1', plural: 'gatewayclasses', clusterScoped: true };
export const GATEWAYS: ResourceType = { kind: 'Gateway', group: GW, version: 'v1', plural: 'gateways' };
export const HTTPROUTES: ResourceType = { kind: 'HTTPRoute', group: GW, version: 'v1', plural: 'httproutes' };
export const GRPCROUTES: ResourceType = { kind: 'GRPCRoute', group: GW, version: 'v1', plural: 'grpcroutes' };
export const TLSROUTES: ResourceType = { kind: 'TLSRoute', group: GW, version: 'v1', plural: 'tlsroutes' };
export const TCPROUTES: ResourceType = { kind: 'TCPRoute', group: GW, version: 'v1', plural: 'tcproutes' };
/** TCPRoute where its CRD (the experimental channel's, before v1) serves only v1alpha2: same fields. */
export const TCPROUTES_V1ALPHA2: ResourceType = { ...TCPROUTES, version: 'v1alpha2' };
export const REFERENCEGRANTS: ResourceType = { kind: 'ReferenceGrant', group: GW, version: 'v1', plural: 'referencegrants' };
export const BACKENDTLSPOLICIES: ResourceType = { kind: 'BackendTLSPolicy', group: GW, version: 'v1', plural: 'backendtlspolicies' };
/** The Gateway API kinds, watched only when the API server serves them (their CRDs are installed). */
export const GATEWAY_API_TYPES: readonly ResourceType[] = [GATEWAYCLASSES, GATEWAYS, HTTPROUTES, GRPCROUTES, TLSROUTES, TCPROUTES, REFERENCEGRANTS, BACKENDTLSPOLICIES];
/** Read for their labels (listeners select route namespaces) and ConfigMaps
 *  for BackendTLSPolicy CA bundles: watched along with the Gateway API. */
export const NAMESPACES: ResourceType = { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', clusterScoped: true };
export const CONFIGMAPS: ResourceType = { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps' };

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function prefix(r: { group: string; version: string }): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

/** Collection path: all namespaces when `namespace` is empty. */
export function collectionPath(r: ResourceType | { group: string; version: string; plural: string }, namespace?: string): string {
  return namespace ? `${prefix(r)}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${prefix(r)}/${r.plural}`;
}

export function objectPath(
  r: { group: string; version: string; plural: string },
  namespace: string,
  name: string,
  subresource?: string,
): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

/** "projectcontour.io/httpproxies" style name for messages and RBAC hints. */
export function resourceName(r: { group: string; plural: string }): string {
  return r.group ? `${r.group}/${r.plural}` : r.plural;
}
