// What the proxy needs for external authorization (Envoy's ext_authz filter
// as Contour configures it): the ExtensionServices it dials, on a virtual
// host the server and its settings, on a route its policy. Plain JSON; CA
// bundles and the client certificate are referenced by id from
// ProxyConfig.caBundles / secrets.
import type { Endpoint, UpstreamTls } from './proxy-config.ts';

export type ExtensionLoadBalancer = 'RoundRobin' | 'WeightedLeastRequest' | 'Random';

/** An ExtensionService, as the proxy dials it. */
export interface ExtensionCluster {
  /** "extension/<namespace>/<name>" (Contour's ExtensionClusterName). */
  name: string;
  namespace: string;
  extensionService: string;
  protocol: 'h2' | 'h2c';
  /** services[] in order, each with its ready endpoints. */
  services: { service: string; port: number; weight: number; endpoints: Endpoint[] }[];
  /** Present iff protocol is h2 (TLS). */
  tls?: UpstreamTls;
  loadBalancer: ExtensionLoadBalancer;
  /** timeoutPolicy.response: absent = not set, null = infinity. */
  responseTimeoutMs?: number | null;
  connectTimeoutMs: number;
  idleConnectionTimeoutMs: number | null;
}

/** On a virtual host: which server authorizes its requests, and how. */
export interface ExternalAuthorization {
  /** ExtensionCluster.name; a name with no cluster denies every request. */
  extensionCluster: string;
  /** Deadline of one Check; null: none. */
  responseTimeoutMs: number | null;
  /** failure_mode_allow: a failing server lets requests through. */
  failOpen: boolean;
  withRequestBody?: { maxRequestBytes: number; allowPartialMessage: boolean; packAsBytes: boolean };
}

/** On a route of a virtual host with authorization: its policy. */
export interface RouteAuthorization {
  disabled: boolean;
  /** Context extensions sent with each Check (route over virtual host). */
  context: Record<string, string>;
}
