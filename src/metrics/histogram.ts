// A latency histogram the hot path can afford: fixed bucket bounds, one
// array increment per observation, no allocation. Counts are kept per
// bucket (not cumulative); the exposition makes them cumulative.

/** Envoy's default histogram bucket bounds, in milliseconds (what
 *  `envoy_*_rq_time_bucket{le}` prints). */
export const ENVOY_BUCKETS_MS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** A histogram as it crosses from a worker to the primary. `counts` has
 *  one entry per bound plus a last one for values above every bound. */
export interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

export class LatencyHistogram {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = ENVOY_BUCKETS_MS) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  data(): HistogramData {
    return { counts: [...this.counts], sum: this.sum, count: this.count };
  }
}
