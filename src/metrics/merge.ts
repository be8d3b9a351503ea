// Two reports of one process added together (a co-located worker runs
// the balancer and the proxy and reports both at once).

import { addHistograms, emptyMetrics, type WorkerMetrics } from './series.ts';

export function mergeWorkerMetrics(...parts: WorkerMetrics[]): WorkerMetrics {
  const out = emptyMetrics();
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.counters)) out.counters[k] = (out.counters[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.gauges)) out.gauges[k] = (out.gauges[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.views)) out.views[k] = (out.views[k] ?? 0) + v;
    for (const [k, h] of Object.entries(p.histograms)) out.histograms[k] = out.histograms[k] ? addHistograms(out.histograms[k]!, h) : h;
  }
  return out;
}
