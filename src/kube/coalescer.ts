// Change coalescing as Contour does it: fire `holdoffMs` after the last
// event, but never later than `maxMs` after the first unflushed one, so a
// steady stream of events cannot postpone a rebuild forever.

export class Coalescer {
  #holdoff: number;
  #max: number;
  #fire: () => void;
  #timer: NodeJS.Timeout | undefined;
  #firstPending = 0;
  #paused = false;
  #pending = false;

  constructor(fire: () => void, holdoffMs = 100, maxMs = 500) {
    this.#fire = fire;
    this.#holdoff = holdoffMs;
    this.#max = Math.max(maxMs, holdoffMs);
  }

  /** Record one change. */
  poke(): void {
    const now = Date.now();
    if (!this.#pending) {
      this.#pending = true;
      this.#firstPending = now;
    }
    if (this.#paused) return;
    this.#arm(now);
  }

  #arm(now: number): void {
    const due = Math.min(now + this.#holdoff, this.#firstPending + this.#max);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), Math.max(0, due - now));
  }

  /** Hold changes back (for example until the initial lists are done). */
  pause(): void {
    this.#paused = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  resume(): void {
    this.#paused = false;
    if (this.#pending) this.#arm(Date.now());
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#pending || this.#paused) return;
    this.#pending = false;
    this.#fire();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = false;
  }
}
