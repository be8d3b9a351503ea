// The proxy runtime (Envoy's role): listeners, routing, upstream clusters.
export { ProxyRuntime } from './runtime.ts';
export type { AccessLogEntry, DownstreamSettings, ProxyListenerSpec, ProxyRuntimeOptions } from './types.ts';
export { accessLogFormatter, formatStartTime, type AccessLogFormatter } from './access-log-format.ts';
// What `isobar explain` runs to say what the proxy would do with a request:
// the same compiled tables, matchers, filter decisions and failure table.
export { RouteTableCompiler, findVhost, matchRoute, type CompiledRoute, type CompiledVhost, type RouteTables } from './route-table.ts';
export { TlsTableBuilder, type TlsChoice } from './tls-choice.ts';
export { normalizeHost } from './host.ts';
export { queryParam, type RequestView } from './matchers.ts';
export { canonicalPath } from './path-normalize.ts';
export { compileIpFilter, ipFilterAllows, RBAC_DENIED_BODY } from './ip-filter.ts';
export { compileCors, corsDecision } from './cors.ts';
export { authorityPort, httpsRedirectLocation, redirectLocation } from './redirect.ts';
export { FAILURES, type FailureCode } from './failure.ts';
