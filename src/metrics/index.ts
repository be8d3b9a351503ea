// What other parts may use from src/metrics: the counters the runtimes
// increment on their hot paths (plain fields), the worker-side series
// builders, the primary's aggregation over workers and the exposition.
export { LatencyHistogram, ENVOY_BUCKETS_MS, type HistogramData } from './histogram.ts';
export { RequestCounters } from './request-counters.ts';
export { UpstreamCounters } from './upstream-counters.ts';
export { BalancerCounters } from './balancer-counters.ts';
export { BoundedSeries, OTHER } from './bounded-series.ts';
export { emptyMetrics, seriesKey, parseSeriesKey, SeriesWriter, type Labels, type WorkerMetrics } from './series.ts';
export { proxySeries, HTTP_PREFIX, HTTPS_PREFIX, type ProxyMetricsSource, type ProxyListenerMetrics, type RouteSeriesKey } from './proxy-series.ts';
export { balancerSeries, type BalancerListenerMetrics } from './balancer-series.ts';
export { MetricsAggregator } from './aggregator.ts';
export { FAMILIES, familyOf, type Family, type FamilyType } from './catalog.ts';
export { exposition, workerRegistry } from './exposition.ts';
export { CONTENT_TYPE } from './prom-client.ts';
export { ControlPlaneMetrics, type StatusUpdate, type CertificateExpiry } from './control-plane.ts';
export { objectChanges, indexSnapshot, type ObjectChange, type ObjectIndex } from './object-changes.ts';
export { mergeWorkerMetrics } from './merge.ts';
