// The API resources isobar watches, and how their REST paths are built.

export interface ResourceType {
  kind: 'HTTPProxy' | 'TLSCertificateDelegation' | 'ExtensionService' | 'Service' | 'Secret' | 'EndpointSlice' | 'Endpoints' | 'Ingress' | 'IngressClass';
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
