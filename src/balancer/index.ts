// The balancer: the pure model (Services -> BalancerConfig + statuses) and
// the runtime that serves a BalancerConfig on real sockets.
export type {
  BalancerConfig,
  BalancerListener,
  EdgeCertificate,
  HealthCheckConfig,
  LoadBalancer,
  Target,
  TargetKind,
  TlsPolicy,
} from './balancer-config.ts';
export { buildBalancerModel } from './model.ts';
export type { BalancerModelOptions, BalancerModelResult, CertificateStoreProblem } from './model-options.ts';
export type { ProxyTargets } from './model-build-targets.ts';
export { handling } from './model-handling.ts';
export { IDLE_TIMEOUT_MS } from './model-build-listener.ts';
export { BalancerRuntime, type BalancerRuntimeOptions, type ListenerHealth } from './runtime.ts';
export type { ListenSockets, LocalProxy } from './listener-runtime.ts';
export { withRuntimeHealth } from './status.ts';
export type { KeyProvider } from './tls-contexts.ts';
export type { TargetHealth } from './target-pool.ts';
export { DEFAULT_POLICY, POLICY_NAMES, ALPN_POLICIES, lookupPolicy, alpnPolicyName } from './policies.ts';
export { A as ANNOTATIONS, isCertificateArn } from './annotations.ts';
export { AcmeChallengeTable, ACME_TLS_ALPN, type AcmeChallenge } from './acme-challenges.ts';
