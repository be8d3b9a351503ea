// What a worker reports for one scrape: its series, already named (Envoy's
// and isobar's names) but not formatted, as plain data for IPC. Counters
// only grow; gauges are summed over the live workers; views are what each
// worker sees of shared state (endpoint health), of which the scrape shows
// the least healthy (the minimum). Formatting is the primary's job.

import type { HistogramData } from './histogram.ts';

export type Labels = Record<string, string>;

export interface WorkerMetrics {
  counters: Record<string, number>;
  histograms: Record<string, HistogramData>;
  gauges: Record<string, number>;
  views: Record<string, number>;
}

export function emptyMetrics(): WorkerMetrics {
  return { counters: {}, histograms: {}, gauges: {}, views: {} };
}

/** One series' identity: the family name and its labels, in a stable order. */
export function seriesKey(name: string, labels: Labels): string {
  return JSON.stringify([name, labels]);
}

export function parseSeriesKey(key: string): { name: string; labels: Labels } {
  const [name, labels] = JSON.parse(key) as [string, Labels];
  return { name, labels };
}

/** Builds a WorkerMetrics; the same series added twice adds up (two
 *  listeners of one connection manager, two clusters of one Service port). */
export class SeriesWriter {
  readonly out: WorkerMetrics = emptyMetrics();

  counter(name: string, labels: Labels, value: number): void {
    const k = seriesKey(name, labels);
    this.out.counters[k] = (this.out.counters[k] ?? 0) + value;
  }

  gauge(name: string, labels: Labels, value: number): void {
    const k = seriesKey(name, labels);
    this.out.gauges[k] = (this.out.gauges[k] ?? 0) + value;
  }

  view(name: string, labels: Labels, value: number): void {
    const k = seriesKey(name, labels);
    this.out.views[k] = (this.out.views[k] ?? 0) + value;
  }

  histogram(name: string, labels: Labels, h: HistogramData): void {
    const k = seriesKey(name, labels);
    const seen = this.out.histograms[k];
    this.out.histograms[k] = seen ? addHistograms(seen, h) : { counts: [...h.counts], sum: h.sum, count: h.count };
  }
}

export function addHistograms(a: HistogramData, b: HistogramData): HistogramData {
  const n = Math.max(a.counts.length, b.counts.length);
  const counts = Array.from({ length: n }, (_, i) => (a.counts[i] ?? 0) + (b.counts[i] ?? 0));
  return { counts, sum: a.sum + b.sum, count: a.count + b.count };
}
