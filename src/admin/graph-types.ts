// The routing graph the web page draws, as /api/graph and the event stream
// send it: load balancer listeners -> proxy listeners -> virtual hosts ->
// routes -> clusters -> endpoints, with the HTTPProxies and certificates
// beside them. Light on purpose (no config bodies): a click asks
// /api/object for one node's conditions and config.

export type NodeKind = 'lb-listener' | 'proxy-listener' | 'vhost' | 'route' | 'cluster' | 'endpoint' | 'httpproxy' | 'certificate';

/** ok: serving as asked; warning: serving, with something to look at;
 *  error: not serving (an invalid or orphaned HTTPProxy, a listener that is
 *  not listening, a cluster with no endpoint, an expired certificate). */
export type NodeStatus = 'ok' | 'warning' | 'error' | 'unknown';

export interface GraphNode {
  /** "kind:name", stable across builds while the object is. */
  id: string;
  kind: NodeKind;
  label: string;
  /** A second line: protocol, action, counts. */
  detail?: string;
  status: NodeStatus;
  /** Why the status is not ok, in the builder's own words. */
  message?: string;
  /** Load balancer listeners: their targets' health. */
  targets?: { address: string; port: number; health: string }[];
  /** Certificates: whole days until notAfter (negative once expired). */
  daysToExpiry?: number;
  /** What names this object's series in /metrics. */
  metrics?: { cluster?: string; vhost?: string; listener?: string };
}

export interface GraphEdge {
  from: string;
  to: string;
  /** A route's share of traffic to a cluster ("50%"), a target's health. */
  label?: string;
}

export interface GraphSummary {
  httpproxies: { valid: number; invalid: number; orphaned: number };
  virtualHosts: number;
  routes: number;
  clusters: number;
  endpoints: number;
  loadBalancerListeners: number;
  /** Certificates in use that expire within 30 days (or have). */
  certificatesExpiring: number;
}

export interface EdgeGraph {
  version: number;
  /** The time this graph was made (ISO 8601). */
  generatedAt: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  summary: GraphSummary;
}
