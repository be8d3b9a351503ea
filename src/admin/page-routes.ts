// The web page and the JSON it reads: `/` (the page), `/page/*` (its
// modules and styles), `/api/graph` (the routing graph), `/api/events`
// (the graph again on every change, as server-sent events), `/api/object`
// (one node's conditions and config) and `/api/config` (the running
// configs, redacted, for `isobar explain --admin`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redactProxyConfig } from '../dag/index.ts';
import type { StatusReport } from '../status/index.ts';
import type { EdgeView } from './edge-view.ts';
import { buildGraph } from './graph.ts';
import { GraphEvents } from './graph-events.ts';
import type { EdgeGraph } from './graph-types.ts';
import { objectDetail } from './object-detail.ts';
import { PAGE_POLICY, pageFile } from './page-files.ts';
import { scrubKeys } from './scrub-keys.ts';

export interface PageRoutesOptions {
  edge(): EdgeView;
  report(): Promise<StatusReport>;
  /** How often open pages are checked for a change (ms). */
  eventIntervalMs: number;
}

type Reply = (status: number, body: string | Buffer, type?: string, headers?: Record<string, string>) => void;

export class PageRoutes {
  readonly #o: PageRoutesOptions;
  readonly events: GraphEvents;

  constructor(o: PageRoutesOptions) {
    this.#o = o;
    this.events = new GraphEvents({ graph: () => this.graph(), intervalMs: o.eventIntervalMs });
  }

  async graph(): Promise<EdgeGraph> {
    const report = await this.#o.report();
    return buildGraph(this.#o.edge(), report, Date.now());
  }

  /** Answers the page's paths; false for any other path. */
  handle(path: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse, reply: Reply): boolean {
    const json = (value: unknown): void => reply(200, `${JSON.stringify(value)}\n`, 'application/json');
    const failed = (err: Error): void => reply(500, `unavailable: ${err.message}\n`);
    if (path === '/' || path === '/index.html') {
      void pageFile('index.html').then((f) =>
        f ? reply(200, f.body, f.type, { 'content-security-policy': PAGE_POLICY }) : reply(500, 'the page is missing from this installation\n'),
      );
      return true;
    }
    if (path.startsWith('/page/')) {
      void pageFile(path.slice('/page/'.length)).then((f) => (f ? reply(200, f.body, f.type) : reply(404, `not found: ${path}\n`)));
      return true;
    }
    switch (path) {
      case '/api/graph':
        this.graph().then(json, failed);
        return true;
      case '/api/events':
        if (req.method === 'HEAD') reply(200, '', 'text/event-stream');
        else this.events.add(res);
        return true;
      case '/api/object': {
        const id = query.get('id');
        if (!id) {
          reply(400, 'give the node id: /api/object?id=vh:http/app.example.com\n');
          return true;
        }
        this.#o.report().then((report) => {
          const d = objectDetail(id, this.#o.edge(), report);
          if (d) json(d);
          else reply(404, `no object ${JSON.stringify(id)} in the running configuration\n`);
        }, failed);
        return true;
      }
      case '/api/config': {
        const e = this.#o.edge();
        json(
          scrubKeys({
            version: e.version,
            proxyListeners: e.proxyListeners,
            proxyConfig: e.proxyConfig ? redactProxyConfig(e.proxyConfig) : null,
            balancerConfig: e.balancerConfig ?? null,
          }),
        );
        return true;
      }
      default:
        return false;
    }
  }

  close(): void {
    this.events.close();
  }
}
