// The watch half of an informer: client-node's ListWatch drives list,
// watch-from-resourceVersion and re-list on 410; this supplies the stream.
// It differs from client-node's Watch in what isobar needs: bookmarks are
// requested, the server is asked to end the watch after a randomised
// 5-10 minutes (as client-go does), an Accept header can ask for metadata
// only, every open stream can be aborted at shutdown, and a callback reports
// when the server has accepted the watch (used for readiness).

import type { ApiClient } from './api-client.ts';

export type WatchCallback = (phase: string, object: any, event: unknown) => void;
export type DoneCallback = (err: unknown) => void;

export interface StreamWatchOptions {
  accept?: string;
  /** No bytes for this long (bookmarks included) means a dead stream. */
  inactivityMs?: number;
  onConnected?: () => void;
}

export class StreamWatch {
  #client: ApiClient;
  #o: StreamWatchOptions;
  #active = new Set<AbortController>();
  #closed = false;

  constructor(client: ApiClient, o: StreamWatchOptions = {}) {
    this.#client = client;
    this.#o = o;
  }

  async watch(path: string, queryParams: Record<string, unknown>, callback: WatchCallback, done: DoneCallback): Promise<AbortController> {
    const ac = new AbortController();
    if (this.#closed) {
      // Shutting down: an informer finishing a re-list must not open a new stream.
      ac.abort();
      queueMicrotask(() => done(null));
      return ac;
    }
    this.#active.add(ac);
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      this.#active.delete(ac);
      ac.abort();
      done(err);
    };
    // A local abort (stop, or ListWatch replacing the request) ends quietly.
    ac.signal.addEventListener('abort', () => finish(null), { once: true });
    const inactivity = this.#o.inactivityMs ?? 130_000;
    const touch = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        const e = new Error(`watch ${path}: no data for ${inactivity} ms`);
        e.name = 'TimeoutError';
        finish(e);
      }, inactivity);
      timer.unref();
    };
    const query: Record<string, string | undefined> = {
      watch: 'true',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
    };
    for (const [k, v] of Object.entries(queryParams)) if (v !== undefined && v !== '') query[k] = String(v);
    touch();
    try {
      const res = await this.#client.stream(path, { query, accept: this.#o.accept, signal: ac.signal });
      if (finished) {
        res.abort();
        return ac;
      }
      ac.signal.addEventListener('abort', () => res.abort(), { once: true });
      this.#o.onConnected?.();
      void this.#pump(res.body, callback, touch).then(
        () => finish(null),
        (err) => finish(err),
      );
    } catch (err) {
      finish(err);
    }
    return ac;
  }

  async #pump(body: ReadableStream<Uint8Array>, callback: WatchCallback, touch: () => void): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of body) {
      touch();
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let ev: { type?: unknown; object?: unknown };
        try {
          ev = JSON.parse(line);
        } catch {
          continue; // a torn line at a dropped connection; the re-watch resends it
        }
        if (!wellFormed(ev)) continue; // nothing an informer could key on
        try {
          callback(ev.type, ev.object, ev);
        } catch {
          // A handler failing on one odd object must not end the stream (it
          // would be replayed on every re-watch, forever).
        }
      }
    }
  }

  /** Abort every open watch and refuse new ones (shutdown). */
  abortAll(): void {
    this.#closed = true;
    for (const ac of [...this.#active]) ac.abort();
  }
}

/** ERROR events carry a Status; every other event an object with metadata
 *  and a name (BOOKMARK: a resourceVersion). */
function wellFormed(ev: { type?: unknown; object?: unknown }): ev is { type: string; object: Record<string, any> } {
  if (typeof ev.type !== 'string' || !ev.object || typeof ev.object !== 'object' || Array.isArray(ev.object)) return false;
  if (ev.type === 'ERROR') return true;
  const meta = (ev.object as { metadata?: unknown }).metadata as Record<string, unknown> | undefined;
  if (!meta || typeof meta !== 'object') return false;
  if (ev.type === 'BOOKMARK') return typeof meta.resourceVersion === 'string';
  return typeof meta.name === 'string' && meta.name !== '';
}
