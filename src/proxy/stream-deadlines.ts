// A forwarded request's two deadlines, the route's response timeout (from
// the end of the request, as Envoy's route timeout: an upload slower than
// the timeout is not cut off) and its idle timeout (from the last byte
// either way), on one timer: arming, refreshing and clearing a Node timer
// per request is a measurable share of a proxy worker's time, and the idle
// deadline moves on every chunk. Activity only stamps the time; the timer, when it fires
// early because of it, is set again for what is left.

export type StreamDeadline = 'response-timeout' | 'stream-idle';

/** Below this many ms left, a deadline counts as reached (the timer runs
 *  on the event loop's clock, which may lag performance.now() a little). */
const SLACK_MS = 1;

export class StreamDeadlines {
  private timer: NodeJS.Timeout | undefined;
  private responseAt: number;
  private readonly responseMs: number;
  private readonly idleMs: number;
  private readonly onExpire: (which: StreamDeadline) => void;
  private lastActivity: number;
  private cleared = false;

  /** `responseMs` and `idleMs`: 0 for none. Does nothing when both are 0.
   *  `requestComplete` false: the response deadline starts at requestDone(). */
  constructor(responseMs: number, idleMs: number, onExpire: (which: StreamDeadline) => void, requestComplete = true) {
    this.idleMs = idleMs;
    this.responseMs = responseMs;
    this.onExpire = onExpire;
    const now = performance.now();
    const responseFromNow = requestComplete && responseMs > 0 ? responseMs : Infinity;
    this.responseAt = now + responseFromNow;
    this.lastActivity = now;
    const first = Math.min(responseFromNow, idleMs > 0 ? idleMs : Infinity);
    if (first !== Infinity) this.timer = setTimeout(this.fire, first);
  }

  /** The whole request has arrived: the response deadline starts. */
  requestDone(): void {
    if (this.cleared || this.responseMs <= 0 || this.responseAt !== Infinity) return;
    this.responseAt = performance.now() + this.responseMs;
    // The timer, when armed, is the idle one, which may be due before or
    // after the new deadline: fire() sets it for whichever comes first.
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.fire();
  }

  /** Bytes moved: the idle deadline starts again. */
  touch(): void {
    if (this.idleMs > 0) this.lastActivity = performance.now();
  }

  clear(): void {
    this.cleared = true;
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
