// Token bucket: `qps` tokens a second, at most `burst` saved up. take()
// resolves when a token is available; waiters are served in order.

export class RateLimiter {
  #qps: number;
  #burst: number;
  #tokens: number;
  #last: number;
  #waiters: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(qps: number, burst: number) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`rate limit needs qps > 0 and burst >= 1 (got qps ${qps}, burst ${burst})`);
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = Date.now();
  }

  #refill(): void {
    const now = Date.now();
    // Wall clock (mockable in tests); a backwards jump adds nothing.
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#last) / 1000) * this.#qps);
    this.#last = now;
  }

  tryTake(): boolean {
    this.#refill();
    if (this.#waiters.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#timer || this.#waiters.length === 0) return;
    this.#refill();
    const wait = this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.#qps) * 1000;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
      while (this.#waiters.length > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#waiters.shift()!();
      }
      this.#schedule();
    }, Math.ceil(wait));
  }

  /** Release every waiter without a token (used on shutdown). */
  drain(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }
}
