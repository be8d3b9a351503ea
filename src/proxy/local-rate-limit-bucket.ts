// Envoy's token bucket for local rate limits: it starts full (max_tokens),
// and at the end of each fill interval tokens_per_fill tokens are added,
// never above max_tokens. Fills are counted from the clock when asked
// (no timer), so an idle bucket costs nothing; the clock is monotonic, so a
// wall-clock step cannot refill or drain it. (token-bucket.ts refills
// continuously, which would let requests/unit trickle in mid-interval.)

export class IntervalTokenBucket {
  readonly #max: number;
  readonly #perFill: number;
  readonly #intervalMs: number;
  #tokens: number;
  #nextFill: number;

  constructor(maxTokens: number, tokensPerFill: number, intervalMs: number, now = performance.now()) {
    this.#max = maxTokens;
    this.#perFill = tokensPerFill;
    this.#intervalMs = intervalMs;
    this.#tokens = maxTokens;
    this.#nextFill = now + intervalMs;
  }

  /** Spends one token; false when the bucket is empty (rate limited). */
  take(now = performance.now()): boolean {
    if (now >= this.#nextFill) {
      const fills = Math.floor((now - this.#nextFill) / this.#intervalMs) + 1;
      this.#tokens = Math.min(this.#max, this.#tokens + fills * this.#perFill);
      this.#nextFill += fills * this.#intervalMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
