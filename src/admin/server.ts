// The admin listener: liveness (/healthz), readiness (/readyz) and the
// current status report (/status), for people and for orchestrators; and
// the web page of the edge with the JSON it reads (page-routes.ts).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTENT_TYPE } from '../metrics/index.ts';
import type { StatusReport } from '../status/index.ts';
import type { EdgeView } from './edge-view.ts';
import { PageRoutes } from './page-routes.ts';

export interface AdminOptions {
  host: string;
  port: number;
  /** Ready when the first config has been built and every worker applied
   *  the latest one (and, in Kubernetes mode, the caches are synced). */
  ready(): boolean;
  report(): Promise<StatusReport>;
  /** The Prometheus text exposition of one scrape (/metrics). */
  metrics?(): Promise<string>;
  /** What the page and /api/* show: the running configs (absent: an empty edge). */
  edge?(): EdgeView;
  /** How often open pages are checked for a change (default 1000 ms). */
  eventIntervalMs?: number;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export async function startAdminServer(o: AdminOptions): Promise<AdminServer> {
  const page = new PageRoutes({
    edge: o.edge ?? (() => ({ version: 0, proxyConfig: undefined, balancerConfig: undefined, proxyListeners: [] })),
    report: o.report,
    eventIntervalMs: o.eventIntervalMs ?? 1000,
  });
  const server = http.createServer((req, res) => {
    const [path = '/', search = ''] = (req.url ?? '/').split('?');
    const reply = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return reply(200, 'ok\n');
      case '/readyz':
        return o.ready() ? reply(200, 'ready\n') : reply(503, 'not ready\n');
      case '/status':
        o.report().then(
          (r) => reply(200, JSON.stringify(r, null, 2) + '\n', 'application/json'),
          (err: Error) => reply(500, `status unavailable: ${err.message}\n`),
        );
        return;
      case '/metrics':
        if (!o.metrics) return reply(404, 'not found: this server has no metrics\n');
        o.metrics().then(
          (text) => reply(200, text, CONTENT_TYPE),
          (err: Error) => reply(500, `metrics unavailable: ${err.message}\n`),
        );
        return;
      default:
        if (page.handle(path, new URLSearchParams(search), req, res, reply)) return;
        return reply(404, 'not found: try /, /healthz, /readyz or /status\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        page.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
