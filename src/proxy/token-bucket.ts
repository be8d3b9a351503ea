// A token bucket: `burst` events at once, then `perSecond` on average. The
// HTTP/2 budgets count peer behaviour with it; time is monotonic so a clock
// step cannot refill or drain it.

export interface Rate {
  burst: number;
  perSecond: number;
}

export class TokenBucket {
  private readonly rate: Rate;
  private tokens: number;
  private last: number;

  constructor(rate: Rate, now = performance.now()) {
    this.rate = rate;
    this.tokens = rate.burst;
    this.last = now;
  }

  /** Spends one token; false when the bucket is empty (over budget). */
  take(now = performance.now()): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.rate.burst, this.tokens + elapsed * this.rate.perSecond);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
