// Connections refused by a listener's source ranges: counted, and logged at
// most once per interval (one second) per listener, so a scan or a flood
// from outside the ranges cannot fill the log. The first refusal after a
// quiet interval is logged at once; the ones that follow within the
// interval are summed into one line at its end ("suppressed": how many
// refusals that line stands for besides the one it names).

import type { Logger } from 'pino';

const INTERVAL_MS = 1000;
const MESSAGE = 'connection refused: the client address is outside the load balancer source ranges';

export class RefusalLog {
  readonly #logger: Logger;
  readonly #listener: string;
  readonly #intervalMs: number;
  #total = 0;
  #pending = 0;
  #lastRemote = '';
  #lastLineAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, listener: string, intervalMs = INTERVAL_MS) {
    this.#logger = logger;
    this.#listener = listener;
    this.#intervalMs = intervalMs;
  }

  /** Refusals since the listener started. */
  get total(): number {
    return this.#total;
  }

  note(remote: string | undefined): void {
    this.#total++;
    this.#lastRemote = remote ?? '';
    this.#pending++;
    const now = performance.now();
    if (now - this.#lastLineAt >= this.#intervalMs) {
      this.stop();
      this.#line();
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#pending > 0) this.#line();
    }, this.#lastLineAt + this.#intervalMs - now);
    this.#timer.unref();
  }

  /** Drops a pending summary (the listener is gone). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #line(): void {
    this.#logger.warn({ listener: this.#listener, remote: this.#lastRemote, suppressed: this.#pending - 1, refusedTotal: this.#total }, MESSAGE);
    this.#pending = 0;
    this.#lastLineAt = performance.now();
  }
}
