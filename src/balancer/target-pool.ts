// The targets of one listener: health state from periodic probes with the
// NLB's thresholds, target choice (flow hash or round robin among healthy
// targets, all of them when none is healthy: the NLB fails open), and
// deregistration draining for targets that leave the config.

import type { Socket } from 'node:net';
import type { HealthCheckConfig } from './balancer-config.ts';
import { probe } from './health-check.ts';

export type TargetHealth = 'healthy' | 'unhealthy' | 'initial' | 'draining';

export interface PoolTarget {
  key: string;
  address: string;
  port: number;
  health: TargetHealth;
  okCount: number;
  failCount: number;
  flows: Set<Socket>;
  timer?: NodeJS.Timeout;
  drainTimer?: NodeJS.Timeout;
  probing: boolean;
}

export interface PoolSettings {
  healthCheck: HealthCheckConfig;
  proxyProtocol: boolean;
  deregistrationDelayMs: number;
  drainTerminatesConnections: boolean;
  targetSelection: 'flow-hash' | 'round-robin';
}

export function targetKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** FNV-1a over the flow's 5-tuple: stable per connection, spread over targets. */
export function flowHash(tuple: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tuple.length; i++) {
    h ^= tuple.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class TargetPool {
  private readonly active = new Map<string, PoolTarget>();
  private readonly draining = new Set<PoolTarget>();
  private settings: PoolSettings | undefined;
  private rr = 0;
  private stopped = false;
  /** Bumped when the health check changes: older probe results are void. */
  private generation = 0;

  /** Makes the pool serve `targets` under `settings`: kept targets keep
   *  their health (unless the health check changed), new ones start
   *  "initial", removed ones drain. */
  update(targets: { address: string; port: number }[], settings: PoolSettings): void {
    const hcChanged = !this.settings || JSON.stringify(this.settings.healthCheck) !== JSON.stringify(settings.healthCheck) || this.settings.proxyProtocol !== settings.proxyProtocol;
    this.settings = settings;
    if (hcChanged) this.generation++;
    const wanted = new Map(targets.map((t) => [targetKey(t.address, t.port), t]));
    for (const [key, t] of this.active) {
      if (!wanted.has(key)) {
        this.active.delete(key);
        this.drain(t, settings);
      }
    }
    for (const [key, t] of wanted) {
      let pt = this.active.get(key);
      if (!pt) {
        // A target coming back while it drains is registered afresh.
        for (const d of this.draining) {
          if (d.key === key) {
            clearTimeout(d.drainTimer);
            this.draining.delete(d);
            pt = d;
            pt.health = 'initial';
            pt.okCount = pt.failCount = 0;
          }
        }
        pt ??= { key, address: t.address, port: t.port, health: 'initial', okCount: 0, failCount: 0, flows: new Set(), probing: false };
        this.active.set(key, pt);
        this.schedule(pt);
      } else if (hcChanged) {
        pt.health = 'initial';
        pt.okCount = pt.failCount = 0;
        this.schedule(pt);
      }
    }
  }

  private drain(t: PoolTarget, settings: PoolSettings): void {
    clearInterval(t.timer);
    t.timer = undefined;
    t.health = 'draining';
    this.draining.add(t);
    const end = () => {
      this.draining.delete(t);
      if (settings.drainTerminatesConnections) for (const s of t.flows) s.destroy();
    };
    if (settings.deregistrationDelayMs <= 0) end();
    else {
      t.drainTimer = setTimeout(end, settings.deregistrationDelayMs);
      t.drainTimer.unref();
    }
  }

  private schedule(t: PoolTarget): void {
    clearInterval(t.timer);
    if (this.stopped || !this.settings) return;
    const run = () => void this.check(t);
    t.timer = setInterval(run, Math.max(10, this.settings.healthCheck.intervalMs || 0));
    t.timer.unref();
    run();
  }

  private async check(t: PoolTarget): Promise<void> {
    const s = this.settings;
    if (!s || t.probing || t.health === 'draining') return;
    t.probing = true;
    const hc = s.healthCheck;
    const gen = this.generation;
    let ok: boolean;
    try {
      ok = await probe(t, hc, s.proxyProtocol);
    } finally {
      t.probing = false;
    }
    // The config may have moved on while the probe ran.
    if (this.stopped || this.active.get(t.key) !== t || this.generation !== gen) return;
    if (ok) {
      t.okCount++;
      t.failCount = 0;
      if (t.health !== 'healthy' && t.okCount >= hc.healthyThreshold) t.health = 'healthy';
    } else {
      t.failCount++;
      t.okCount = 0;
      if (t.health !== 'unhealthy' && t.failCount >= hc.unhealthyThreshold) t.health = 'unhealthy';
    }
  }

  /** Targets to try for a new flow, best first: the chosen one, then the
   *  other eligible ones (a connect error moves on to the next). */
  candidates(tuple: string): PoolTarget[] {
    const all = [...this.active.values()];
    const healthy = all.filter((t) => t.health === 'healthy');
    const pool = healthy.length > 0 ? healthy : all;
    if (pool.length === 0) return [];
    const start = this.settings?.targetSelection === 'round-robin' ? this.rr++ % pool.length : flowHash(tuple) % pool.length;
    return [...pool.slice(start), ...pool.slice(0, start)];
  }

  /** Counts a flow against its target (for draining). */
  track(t: PoolTarget, s: Socket): void {
    t.flows.add(s);
    s.once('close', () => t.flows.delete(s));
  }

  list(): { address: string; port: number; health: TargetHealth }[] {
    return [...this.active.values(), ...this.draining].map((t) => ({ address: t.address, port: t.port, health: t.health }));
  }

  stop(): void {
    this.stopped = true;
    for (const t of [...this.active.values(), ...this.draining]) {
      clearInterval(t.timer);
      clearTimeout(t.drainTimer);
    }
  }
}
