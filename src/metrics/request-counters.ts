// Counters for a stream of requests (a listener's connection manager, a
// virtual host, a route): plain fields, so counting costs a few property
// increments and one histogram observation per request.

import { LatencyHistogram } from './histogram.ts';

export class RequestCounters {
  total = 0;
  /** Gauge: requests being handled now. */
  active = 0;
  /** Responses by status class: index 0 is 1xx, 4 is 5xx. */
  readonly byClass = [0, 0, 0, 0, 0];
  /** Milliseconds from the request's arrival to its end. */
  readonly time = new LatencyHistogram();

  /** A request arrived. */
  start(): void {
    this.total++;
    this.active++;
  }

  /** A request ended with `status` (0: no response) after `ms`. */
  end(status: number, ms: number): void {
    this.active--;
    countClass(this.byClass, status);
    this.time.observe(ms);
  }

  /** A whole request at once, counted as it ends (no active gauge). */
  record(status: number, ms: number): void {
    this.total++;
    countClass(this.byClass, status);
    this.time.observe(ms);
  }
}

/** Counts `status` in its class (index 0 is 1xx); 0 or out of range: not counted. */
export function countClass(byClass: number[], status: number): void {
  const c = (status / 100) | 0;
  if (c >= 1 && c <= 5) byClass[c - 1]!++;
}
