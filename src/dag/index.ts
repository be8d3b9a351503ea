// The dag part: Contour's semantics, Snapshot + IsobarConfig -> ProxyConfig
// and the status of every HTTPProxy.
export { build, DagBuilder, type DagResult } from './build.ts';
export { redactProxyConfig } from './redact.ts';
export type * from './proxy-config.ts';
export { DEFAULT_RESPONSE_TIMEOUT_MS } from './proxy-config.ts';
export type { ExtensionServiceStatus } from './extension-processor.ts';
export { loadBalancerName } from './gateway-load-balancer.ts';
