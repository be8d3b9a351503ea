// The HTTP health check's probe: GET path with the configured Host on a
// connection of its own (the cluster's transport), passing on an expected
// status.
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type { HealthCheck } from '../dag/index.ts';
import type { HealthProbe } from './health-check.ts';
import type { Connector } from './upstream-tls.ts';

export function httpHealthProbe(origin: string, connector: Connector, hc: HealthCheck): HealthProbe {
  const client = new Client(origin, {
    connect: connector as unknown as Client.Options['connect'],
    headersTimeout: hc.timeoutMs,
    bodyTimeout: hc.timeoutMs,
    keepAliveTimeout: Math.max(hc.intervalMs * 2, 1000),
    pipelining: 1,
  });
  client.on('connectionError', () => {});
  return {
    run(timeoutMs) {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(new Error('health check timeout')), timeoutMs);
      t.unref();
      const req: Dispatcher.RequestOptions = {
        path: hc.path,
        method: 'GET',
        headers: { host: hc.host, 'user-agent': 'isobar-healthcheck' },
        signal: ac.signal,
      };
      return client
        .request(req)
        .then(async (res) => {
          await res.body.dump().catch(() => {});
          return hc.expectedStatuses.some((r) => res.statusCode >= r.start && res.statusCode < r.end);
        })
        .catch(() => false)
        .finally(() => clearTimeout(t));
    },
    close() {
      client.destroy().catch(() => {});
    },
  };
}
