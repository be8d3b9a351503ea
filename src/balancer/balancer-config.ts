// BalancerConfig: what the balancer model builds from Services and the
// certificate store, and what balancer workers apply. Plain, JSON-safe data.
// It names edge certificates by ARN and carries their public parts; the
// private keys are read from the certificate store by the balancer runtime
// alone, so they exist only in balancer processes.

export interface EdgeCertificate {
  arn: string;
  certPem: string;
  chainPem: string; // may be ""
  /** DNS names the certificate covers (CN + SANs, wildcards kept). */
  domains: string[];
  notAfter: string; // ISO 8601
  /** Set while the certificate manager has no certificate under this ARN
   *  yet (ACME: being validated, or the request failed): certPem is "". */
  unissued?: { status: 'PENDING_VALIDATION' | 'FAILED'; reason?: string };
}

export interface TlsPolicy {
  name: string; // e.g. "ELBSecurityPolicy-TLS13-1-2-2021-06"
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL names, TLS <= 1.2, in the policy's order. */
  ciphers: string[];
  /** TLS 1.3 suite names in the policy's order (may be empty). */
  ciphersuites: string[];
  /** OpenSSL security level for this listener (0 for legacy policies). */
  securityLevel: number;
  /** Key exchange groups (OpenSSL names) in preference order; absent =
   *  OpenSSL's defaults. Post-quantum ("PQ") policies list hybrid ML-KEM groups. */
  groups?: string[];
}

export type TargetKind =
  | 'endpoint' // a pod / endpoint address
  | 'proxy-http' // isobar's own proxy, plain HTTP listener
  | 'proxy-https' // isobar's own proxy, HTTPS listener
  | 'proxy-port'; // isobar's own proxy, a port listener (a Gateway listener port of its own), by `listener`

export interface Target {
  /** For "endpoint" targets the address and port; for proxy targets the
   *  runtime resolves them to the proxy's PROXY-protocol listener. */
  kind: TargetKind;
  address: string;
  port: number;
  /** proxy-port: the port listener's name ("http-81", "tcp-5000"). */
  listener?: string;
}

export interface HealthCheckConfig {
  protocol: 'TCP' | 'HTTP' | 'HTTPS';
  /** "traffic-port" or a number. */
  port: 'traffic-port' | number;
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  successCodes: string; // "200-399"
}

export interface BalancerListener {
  /** Stable id "namespace/name:port"; equal ids with equal content are kept
   *  across config swaps without touching open connections. */
  id: string;
  servicePort: number;
  bindAddress: string;
  bindPort: number; // servicePort + port offset
  protocol: 'TCP' | 'TLS';
  tls?: {
    certificates: EdgeCertificate[]; // default first; all offered by SNI
    /** ARNs named by the Service whose certificate is still being issued
     *  (ACME, PENDING_VALIDATION): with no certificate yet the listener
     *  answers TLS-ALPN-01 only and closes every other handshake. */
    pending?: string[];
    policy: TlsPolicy;
    alpn: string[] | null; // null = do not negotiate (policy "None")
  };
  targets: Target[];
  targetProtocol: 'TCP' | 'TLS';
  /** Re-encryption: verify the target against this CA (isobar extension). */
  targetTls?: { caPem?: string; servername?: string };
  proxyProtocol: boolean;
  proxyProtocolTlvs: ('ssl' | 'authority' | 'alpn')[];
  healthCheck: HealthCheckConfig;
  deregistrationDelayMs: number;
  idleTimeoutMs: number; // 350 s, as the NLB
  preserveClientIp: boolean;
  /** "flow-hash" as the NLB, or "round-robin". */
  targetSelection: 'flow-hash' | 'round-robin';
  /** deregistration_delay.connection_termination.enabled: close a removed
   *  target's connections when the delay ends (default: they continue). */
  drainTerminatesConnections?: boolean;
  /** Client ranges (CIDR) allowed to connect, the load balancer's own
   *  (spec.loadBalancerSourceRanges or its annotation); everyone is
   *  ["0.0.0.0/0", "::/0"]. A connection from elsewhere is closed before
   *  any byte is read. An empty list lets nobody in. */
  sourceRanges: string[];
}

export interface LoadBalancer {
  namespace: string;
  name: string;
  hostname: string; // k8s-<ns>-<name>-<hash>.elb.<region>.amazonaws.com
  scheme: 'internal' | 'internet-facing';
  listeners: BalancerListener[];
}

export interface BalancerConfig {
  loadBalancers: LoadBalancer[]; // sorted by namespace, name
}
