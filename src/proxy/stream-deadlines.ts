// A forwarded request's two deadlines, the route's response timeout (from
// the start) and its idle timeout (from the last byte either way), on one
// timer: arming, refreshing and clearing a Node timer per request is a
// measurable share of a proxy worker's time, and the idle deadline moves on
// every chunk. Activity only stamps the time; the timer, when it fires
// early because of it, is set again for what is left.

export type StreamDeadline = 'response-timeout' | 'stream-idle';

/** Below this many ms left, a deadline counts as reached (the timer runs
 *  on the event loop's clock, which may lag performance.now() a little). */
const SLACK_MS = 1;

export class StreamDeadlines {
  private timer: NodeJS.Timeout | undefined;
  private readonly responseAt: number;
  private readonly idleMs: number;
  private readonly onExpire: (which: StreamDeadline) => void;
  private lastActivity: number;

  /** `responseMs` and `idleMs`: 0 for none. Does nothing when both are 0. */
  constructor(responseMs: number, idleMs: number, onExpire: (which: StreamDeadline) => void) {
    this.idleMs = idleMs;
    this.onExpire = onExpire;
    const now = performance.now();
    this.responseAt = responseMs > 0 ? now + responseMs : Infinity;
    this.lastActivity = now;
    const first = Math.min(responseMs > 0 ? responseMs : Infinity, idleMs > 0 ? idleMs : Infinity);
    if (first !== Infinity) this.timer = setTimeout(this.fire, first);
  }

  /** Bytes moved: the idle deadline starts again. */
  touch(): void {
    if (this.idleMs > 0) this.lastActivity = performance.now();
  }

  clear(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const responseLeft = this.responseAt - now;
    if (responseLeft < SLACK_MS) return this.onExpire('response-timeout');
    const idleLeft = this.idleMs > 0 ? this.lastActivity + this.idleMs - now : Infinity;
    if (idleLeft < SLACK_MS) return this.onExpire('stream-idle');
    this.timer = setTimeout(this.fire, Math.min(responseLeft, idleLeft));
  };
}
