// The edge: the one pipeline from objects to configs and statuses, and the
// report the CLI builds on it. What it produces is typed by the parts that
// consume it (the proxy's and the balancer's configs), re-exported here so
// its callers need not reach into the builders.
export { build, EdgeBuilder, type EdgeInput, type EdgeResult, type EdgeBuildStats } from './build.ts';
export { buildReport, statusReport, type Report, type ReportOptions } from './report.ts';
export { findings, hasFindings, type Findings } from './findings.ts';
export type { PortListener, ProxyConfig } from '../dag/index.ts';
export type { BalancerConfig, EdgeCertificate } from '../balancer/index.ts';
