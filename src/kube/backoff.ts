// Exponential backoff with full jitter, so many replicas retrying against a
// recovering API server do not arrive in lockstep.

export interface BackoffOptions {
  baseMs?: number; // first delay, default 500
  maxMs?: number; // cap, default 30000
}

export class Backoff {
  #base: number;
  #max: number;
  #attempt = 0;
  constructor(o: BackoffOptions = {}) {
    this.#base = o.baseMs ?? 500;
    this.#max = o.maxMs ?? 30_000;
  }
  get attempts(): number {
    return this.#attempt;
  }
  /** The next delay: between half and all of base * 2^attempt, capped. */
  next(): number {
    const ceiling = Math.min(this.#max, this.#base * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }
  reset(): void {
    this.#attempt = 0;
  }
}
