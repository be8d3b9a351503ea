// One scrape from many worker processes. Each worker slot (role and index)
// reports what its process has counted since it started; the total is the
// sum over the slots plus a base. When a slot's process is replaced (it
// died and was forked again: a new process id), the old process's last
// report joins the base, so the new process starting from zero never makes
// a counter go backwards (Prometheus counter semantics). Its gauges and
// views leave with it. A slot that does not answer a scrape keeps its last
// report.

import { addHistograms, emptyMetrics, type WorkerMetrics } from './series.ts';

interface SlotReport {
  instance: number;
  metrics: WorkerMetrics;
}

export class MetricsAggregator {
  readonly #base = emptyMetrics();
  readonly #slots = new Map<string, SlotReport>();

  /** `instance` tells a slot's process from the ones before it (its pid). */
  report(slot: string, instance: number, metrics: WorkerMetrics): void {
    const prev = this.#slots.get(slot);
    if (prev && prev.instance !== instance) this.#keep(prev.metrics);
    this.#slots.set(slot, { instance, metrics });
  }

  /** Every slot's latest report added up, on the base of replaced processes. */
  total(): WorkerMetrics {
    const out = emptyMetrics();
    addCounters(out, this.#base);
    for (const { metrics } of this.#slots.values()) {
      addCounters(out, metrics);
      for (const [k, v] of Object.entries(metrics.gauges)) out.gauges[k] = (out.gauges[k] ?? 0) + v;
      for (const [k, v] of Object.entries(metrics.views)) {
        const seen = out.views[k];
        out.views[k] = seen === undefined ? v : Math.min(seen, v);
      }
    }
    return out;
  }

  #keep(m: WorkerMetrics): void {
    addCounters(this.#base, m);
  }
}

function addCounters(into: WorkerMetrics, from: WorkerMetrics): void {
  for (const [k, v] of Object.entries(from.counters)) into.counters[k] = (into.counters[k] ?? 0) + v;
  for (const [k, h] of Object.entries(from.histograms)) {
    const seen = into.histograms[k];
    into.histograms[k] = seen ? addHistograms(seen, h) : addHistograms({ counts: [], sum: 0, count: 0 }, h);
  }
}
