// The admin listener: liveness (/healthz), readiness (/readyz) and the
// current status report (/status), for people and for orchestrators.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatusReport } from '../status/index.ts';

export interface AdminOptions {
  host: string;
  port: number;
  /** Ready when the first config has been built and every worker applied
   *  the latest one (and, in Kubernetes mode, the caches are synced). */
  ready(): boolean;
  report(): Promise<StatusReport>;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export async function startAdminServer(o: AdminOptions): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
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
      default:
        return reply(404, 'not found: try /healthz, /readyz or /status\n');
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
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
