// What the proxy needs to apply an HTTPProxy's IP filters (Envoy's RBAC
// filter as Contour configures it): the rules of one virtual host or route.

/** Peer: the address of the connection (Envoy's direct_remote_ip).
 *  Remote: the client address the proxy derives from the PROXY header (and
 *  trusted X-Forwarded-For hops), Envoy's remote_ip. */
export type IpFilterSource = 'Peer' | 'Remote';

export interface IpFilterRule {
  /** Network address and prefix length, host bits cleared: "10.0.0.0/8", "2001:db8::/32". */
  cidr: string;
  source: IpFilterSource;
}

export interface IpFilterConfig {
  /** allow: only requests matching a rule pass. deny: requests matching a rule get 403. */
  action: 'allow' | 'deny';
  rules: IpFilterRule[];
}
