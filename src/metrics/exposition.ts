// The Prometheus text exposition of one scrape, made by prom-client (it
// escapes label values, prints +Inf and keeps the format's details right;
// see the README for why this library). The workers' aggregated series are
// written into a registry made for this scrape; the primary's own live
// registries (control plane, certificates, server) are merged in.

import type { Histogram, Registry } from 'prom-client';
import { familyOf, type Family } from './catalog.ts';
import { ENVOY_BUCKETS_MS, type HistogramData } from './histogram.ts';
import { promClient } from './prom-client.ts';
import { parseSeriesKey, type Labels, type WorkerMetrics } from './series.ts';

interface Grouped {
  family: Family;
  scalars: { labels: Labels; value: number }[];
  histograms: { labels: Labels; data: HistogramData }[];
}

type Series = { labels: Labels; data: HistogramData }[];
type CountedHistogramClass = new (name: string, help: string, labelNames: string[], series: Series, scale: number) => Histogram<string>;
let countedHistogram: CountedHistogramClass | undefined;

/** A histogram whose buckets were counted elsewhere (in the workers):
 *  prom-client formats it like one it observed itself. The class is made
 *  once prom-client is loaded. */
function countedHistogramClass(): CountedHistogramClass {
  if (countedHistogram) return countedHistogram;
  const { Histogram } = promClient();
  class CountedHistogram extends Histogram<string> {
    readonly #name: string;
    readonly #help: string;
    readonly #series: Series;
    readonly #bounds: number[];
    readonly #scale: number;

    constructor(name: string, help: string, labelNames: string[], series: Series, scale: number) {
      const bounds = ENVOY_BUCKETS_MS.map((b) => b * scale);
      super({ name, help, labelNames, buckets: bounds, registers: [] });
      this.#name = name;
      this.#help = help;
      this.#series = series;
      this.#bounds = bounds;
      this.#scale = scale;
    }

    override async get(): ReturnType<Histogram<string>['get']> {
      const name = this.#name;
      const values = [];
      for (const { labels, data } of this.#series) {
        let cumulative = 0;
        for (let i = 0; i < this.#bounds.length; i++) {
          cumulative += data.counts[i] ?? 0;
          values.push({ labels: { ...labels, le: this.#bounds[i]! }, value: cumulative, metricName: `${name}_bucket` });
        }
        values.push({ labels: { ...labels, le: '+Inf' }, value: data.count, metricName: `${name}_bucket` });
        values.push({ labels, value: data.sum * this.#scale, metricName: `${name}_sum` });
        values.push({ labels, value: data.count, metricName: `${name}_count` });
      }
      return { name, help: this.#help, type: 'histogram', values, aggregator: 'sum' } as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
    }

    /** What the registry reads when formatting text (prom-client's own
     *  histograms answer it from their observations). */
    getForPromString(): ReturnType<Histogram<string>['get']> {
      return this.get();
    }
  }
  countedHistogram = CountedHistogram;
  return CountedHistogram;
}

/** The registry of one scrape's worker series (unknown families are left out). */
export function workerRegistry(total: WorkerMetrics): Registry {
  const groups = new Map<string, Grouped>();
  const group = (key: string): { g: Grouped; labels: Labels } | undefined => {
    const { name, labels } = parseSeriesKey(key);
    let g = groups.get(name);
    if (!g) {
      const family = familyOf(name);
      if (!family) return undefined;
      g = { family, scalars: [], histograms: [] };
      groups.set(name, g);
    }
    return { g, labels };
  };
  for (const values of [total.counters, total.gauges, total.views]) {
    for (const [key, value] of Object.entries(values)) {
      const found = group(key);
      found?.g.scalars.push({ labels: found.labels, value });
    }
  }
  for (const [key, data] of Object.entries(total.histograms)) {
    const found = group(key);
    found?.g.histograms.push({ labels: found.labels, data });
  }
  const { Counter, Gauge, Registry } = promClient();
  const CountedHistogram = countedHistogramClass();
  const registry = new Registry();
  for (const name of [...groups.keys()].sort()) {
    const g = groups.get(name)!;
    const labelNames = [...new Set([...g.scalars, ...g.histograms].flatMap((s) => Object.keys(s.labels)))];
    const { type, help } = g.family;
    if (type === 'histogram') {
      registry.registerMetric(new CountedHistogram(name, help, labelNames, g.histograms, g.family.toSeconds ? 0.001 : 1));
    } else if (type === 'counter') {
      const c = new Counter({ name, help, labelNames, registers: [registry] });
      for (const s of g.scalars) c.inc(s.labels, s.value);
    } else {
      const m = new Gauge({ name, help, labelNames, registers: [registry] });
      for (const s of g.scalars) m.set(s.labels, s.value);
    }
  }
  return registry;
}

/** The whole scrape: the workers' series, then each of `others`. */
export async function exposition(total: WorkerMetrics, others: Registry[]): Promise<string> {
  return promClient().Registry.merge([workerRegistry(total), ...others]).metrics();
}
