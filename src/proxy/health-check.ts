// Active health checks for one endpoint (Contour's healthCheckPolicy and
// tcpproxy.healthCheckPolicy): one probe every interval; healthy on the
// first pass, unhealthy after N consecutive failures, healthy again after M
// consecutive successes. The probe is an HTTP GET (http-health-probe.ts) or
// a TCP connect (tcp-health-probe.ts).

/** One check: resolves true on a pass, false on a failure (never rejects). */
export interface HealthProbe {
  run(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export interface HealthThresholds {
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
}

export class HealthChecker {
  /** As Envoy: a new endpoint takes traffic once its first check passes
   *  (the panic threshold still routes to it if nothing is healthy). */
  healthy = false;
  private checked = false;
  private failures = 0;
  private successes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly probe: HealthProbe;
  private readonly t: HealthThresholds;
  private readonly onChange: (healthy: boolean) => void;
  private readonly onFailure: () => void;

  constructor(probe: HealthProbe, t: HealthThresholds, onChange: (healthy: boolean) => void, onFailure: () => void) {
    this.probe = probe;
    this.t = t;
    this.onChange = onChange;
    this.onFailure = onFailure;
    this.timer = setTimeout(() => this.run(), 0);
    this.timer.unref();
  }

  private run(): void {
    if (this.stopped) return;
    this.probe
      .run(this.t.timeoutMs)
      .catch(() => false)
      .then((ok) => {
        this.record(ok);
        if (this.stopped) return;
        this.timer = setTimeout(() => this.run(), this.t.intervalMs);
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
      if (!this.healthy && (first || this.successes >= this.t.healthyThreshold)) {
        this.healthy = true;
        this.onChange(true);
      }
    } else {
      this.onFailure();
      this.successes = 0;
      this.failures++;
      if (this.healthy && this.failures >= this.t.unhealthyThreshold) {
        this.healthy = false;
        this.onChange(false);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.probe.close();
  }
}
