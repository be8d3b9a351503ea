// Active HTTP health checks for one endpoint (Contour's healthCheckPolicy):
// GET path with the configured Host every interval; healthy on the first
// pass, unhealthy after N consecutive failures, healthy again after M
// consecutive successes.
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type { HealthCheck } from '../dag/index.ts';
import type { Connector } from './upstream-tls.ts';

export class HealthChecker {
  /** As Envoy: a new endpoint takes traffic once its first check passes
   *  (the panic threshold still routes to it if nothing is healthy). */
  healthy = false;
  private checked = false;
  private failures = 0;
  private successes = 0;
  private timer: NodeJS.Timeout | undefined;
  private client: Client;
  private stopped = false;
  private readonly hc: HealthCheck;
  private readonly onChange: (healthy: boolean) => void;
  private readonly onFailure: () => void;

  constructor(origin: string, connector: Connector, hc: HealthCheck, onChange: (healthy: boolean) => void, onFailure: () => void) {
    this.hc = hc;
    this.onChange = onChange;
    this.onFailure = onFailure;
    this.client = new Client(origin, {
      connect: connector as unknown as Client.Options['connect'],
      headersTimeout: hc.timeoutMs,
      bodyTimeout: hc.timeoutMs,
      keepAliveTimeout: Math.max(hc.intervalMs * 2, 1000),
      pipelining: 1,
    });
    this.client.on('connectionError', () => {});
    this.timer = setTimeout(() => this.run(), 0);
    this.timer.unref();
  }

  private run(): void {
    if (this.stopped) return;
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(new Error('health check timeout')), this.hc.timeoutMs);
    t.unref();
    const req: Dispatcher.RequestOptions = {
      path: this.hc.path,
      method: 'GET',
      headers: { host: this.hc.host, 'user-agent': 'isobar-healthcheck' },
      signal: ac.signal,
    };
    this.client
      .request(req)
      .then(async (res) => {
        await res.body.dump().catch(() => {});
        const ok = this.hc.expectedStatuses.some((r) => res.statusCode >= r.start && res.statusCode < r.end);
        this.record(ok);
      })
      .catch(() => this.record(false))
      .finally(() => {
        clearTimeout(t);
        if (this.stopped) return;
        this.timer = setTimeout(() => this.run(), this.hc.intervalMs);
        this.timer.unref();
      });
  }

  private record(ok: boolean): void {
    if (this.stopped) return;
    const first = !this.checked;
    this.checked = true;
    if (ok) {
      this.failures = 0;
      this.successes++;
      // The first ever check bypasses the healthy threshold.
      if (!this.healthy && (first || this.successes >= this.hc.healthyThreshold)) {
        this.healthy = true;
        this.onChange(true);
      }
    } else {
      this.onFailure();
      this.successes = 0;
      this.failures++;
      if (this.healthy && this.failures >= this.hc.unhealthyThreshold) {
        this.healthy = false;
        this.onChange(false);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client.destroy().catch(() => {});
  }
}
