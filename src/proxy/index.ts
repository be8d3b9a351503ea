// The proxy runtime (Envoy's role): listeners, routing, upstream clusters.
export { ProxyRuntime } from './runtime.ts';
export type { AccessLogEntry, ProxyListenerSpec, ProxyRuntimeOptions } from './types.ts';
