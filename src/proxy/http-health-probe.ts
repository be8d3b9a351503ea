// The HTTP health check's probe: GET path with the configured Host on a
// connection of its own (the cluster's transport), passing on an expected
// status. HTTP/1.1 clusters probe with isobar's client (h1-client.ts),
// HTTP/2 ones with undici's.
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type { HealthCheck } from '../dag/index.ts';
import { H1Pool } from './h1-client.ts';
import type { HealthProbe } from './health-check.ts';
import type { Connector } from './upstream-tls.ts';

export function httpHealthProbe(origin: string, connector: Connector, hc: HealthCheck, h2 = false): HealthProbe {
  return h2 ? undiciProbe(origin, connector, hc) : h1Probe(origin, connector, hc);
}

function expected(hc: HealthCheck, status: number): boolean {
  return hc.expectedStatuses.some((r) => status >= r.start && status < r.end);
}

function h1Probe(origin: string, connector: Connector, hc: HealthCheck): HealthProbe {
  const url = new URL(origin);
  const secure = url.protocol === 'https:';
  const pool = new H1Pool({
    hostname: url.hostname,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    secure,
    connector,
    connections: 1,
    keepAliveTimeout: Math.max(hc.intervalMs * 2, 1000),
    keepAliveMaxTimeout: Math.max(hc.intervalMs * 2, 1000),
    maxHeaderSize: 96 * 1024,
  });
  return {
    run(timeoutMs) {
      return new Promise((resolve) => {
        let status = 0;
        let controller: Dispatcher.DispatchController | undefined;
        let settled = false;
        const done = (ok: boolean): void => {
          if (settled) return;
          settled = true;
          clearTimeout(t);
          resolve(ok);
        };
        const t = setTimeout(() => {
          controller?.abort(new Error('health check timeout'));
          done(false);
        }, timeoutMs);
        t.unref();
        pool.dispatch(
          { path: hc.path, method: 'GET', headers: ['host', hc.host, 'user-agent', 'isobar-healthcheck'] },
          {
            onRequestStart(c) {
              controller = c;
            },
            onResponseStart(_c, s) {
              status = s;
            },
            // The body is read and dropped, so the connection is kept.
            onResponseData() {},
            onResponseEnd() {
              done(expected(hc, status));
            },
            onResponseError() {
              done(false);
            },
          },
        );
      });
    },
    close() {
      pool.destroy().catch(() => {});
    },
  };
}

function undiciProbe(origin: string, connector: Connector, hc: HealthCheck): HealthProbe {
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
          return expected(hc, res.statusCode);
        })
        .catch(() => false)
        .finally(() => clearTimeout(t));
    },
    close() {
      client.destroy().catch(() => {});
    },
  };
}
