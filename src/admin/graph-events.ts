// Server-sent events for the page: the graph again whenever it changes (a
// manifest edit, a target's health, a certificate's days). One timer for
// every open page, and none while no page is open: the graph is made only
// for someone watching.
import type { ServerResponse } from 'node:http';
import type { EdgeGraph } from './graph-types.ts';

export interface GraphEventsOptions {
  /** The graph, made afresh. */
  graph(): Promise<EdgeGraph>;
  /** How often to look for a change (ms). */
  intervalMs: number;
}

/** A comment line now and then keeps idle proxies from closing the stream. */
const KEEPALIVE_MS = 15_000;

export class GraphEvents {
  readonly #o: GraphEventsOptions;
  readonly #clients = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #last = '';
  #lastSentAt = 0;
  #busy = false;

  constructor(o: GraphEventsOptions) {
    this.#o = o;
  }

  /** Takes over `res` for the stream; the first event is the current graph. */
  add(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    this.#clients.add(res);
    res.once('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#stop();
    });
    void this.#o.graph().then(
      (g) => {
        if (!res.destroyed) res.write(event(g));
      },
      (err: Error) => res.write(`event: problem\ndata: ${JSON.stringify(err.message)}\n\n`),
    );
    this.#timer ??= setInterval(() => void this.#tick(), this.#o.intervalMs);
  }

  get clients(): number {
    return this.#clients.size;
  }

  close(): void {
    this.#stop();
    for (const c of this.#clients) c.destroy();
    this.#clients.clear();
  }

  async #tick(): Promise<void> {
    // A slow graph (health asked of every balancer worker) never stacks up.
    if (this.#busy) return;
    this.#busy = true;
    try {
      const g = await this.#o.graph();
      const now = Date.now();
      // A change is a change of anything but the time it was made.
      const key = JSON.stringify({ ...g, generatedAt: '' });
      if (key !== this.#last) {
        this.#last = key;
        this.#lastSentAt = now;
        const text = event(g);
        for (const c of this.#clients) c.write(text);
      } else if (now - this.#lastSentAt >= KEEPALIVE_MS) {
        this.#lastSentAt = now;
        for (const c of this.#clients) c.write(': keep-alive\n\n');
      }
    } catch {
      // The next tick tries again; /status says what is wrong.
    } finally {
      this.#busy = false;
    }
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#last = '';
  }
}

function event(g: EdgeGraph): string {
  return `event: graph\ndata: ${JSON.stringify(g)}\n\n`;
}
