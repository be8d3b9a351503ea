// Changes to the sources (or to the certificate store) become a rebuild and
// a push to the workers, one at a time and always from the newest state: a
// change that lands during a rebuild is applied by one more round once it
// ends, however many came meanwhile.

import type pino from 'pino';
import type { CertificateStore } from '../certs/index.ts';
import type { ControlPlaneMetrics } from '../metrics/index.ts';
import { recordUsage } from './certificate-usage.ts';
import type { EdgeState } from './edge-state.ts';
import type { EdgeWorkers } from './edge-workers.ts';
import type { Source } from './source.ts';
import { watchCertificates } from './store-watch.ts';

/** Notes a change that lands while the workers start, so it is applied once they run. */
export function holdChanges(source: Source): { release(onChange: () => void): void } {
  let changed = false;
  const note = (): void => {
    changed = true;
  };
  source.on('change', note);
  return {
    release(onChange) {
      source.off('change', note);
      source.on('change', onChange);
      if (changed) onChange();
    },
  };
}

export class ReloadLoop {
  readonly #state: EdgeState;
  readonly #workers: EdgeWorkers;
  readonly #store: CertificateStore;
  readonly #logger: pino.Logger;
  readonly #metrics: ControlPlaneMetrics;
  #building = false;
  #again = false;
  #lastUsage = '';

  constructor(state: EdgeState, workers: EdgeWorkers, store: CertificateStore, logger: pino.Logger, metrics: ControlPlaneMetrics) {
    this.#metrics = metrics;
    this.#state = state;
    this.#workers = workers;
    this.#store = store;
    this.#logger = logger;
  }

  /** Sends the latest build to the workers and records certificate usage. */
  async push(): Promise<void> {
    const s = this.#state;
    const t0 = performance.now();
    await this.#workers.apply(s.version, s.proxyConfig, s.balancerConfig);
    this.#metrics.applied((performance.now() - t0) / 1000);
    // Port listeners a worker could not bind: their Gateway listeners say so.
    if (s.setPortProblems(this.#workers.portProblems()) && !this.#building) s.publishStatuses();
    if (s.balancerConfig) this.#lastUsage = await recordUsage(this.#store, s.balancerConfig, this.#lastUsage, this.#logger);
  }

  /** From now on, rebuild on the source's own (coalesced) change events,
   *  not on every cache write: a Kubernetes re-list is one rebuild, not
   *  thousands. Returns what stops watching the certificate store. */
  follow(held: { release(onChange: () => void): void }, stateDir: string): () => void {
    held.release(this.onChange);
    return watchCertificates(stateDir, this.onChange);
  }

  readonly onChange = (): void => {
    if (this.#building) {
      this.#again = true;
      return;
    }
    this.#building = true;
    void this.#run();
  };

  async #run(): Promise<void> {
    const s = this.#state;
    try {
      do {
        this.#again = false;
        const t0 = performance.now();
        await s.rebuild();
        const t1 = performance.now();
        // Traffic first: statuses are logged and written once the workers
        // have the new config.
        await this.push();
        const t2 = performance.now();
        s.publishStatuses();
        // Where a reload's time goes, for people tuning large installations.
        this.#logger.debug(
          {
            version: s.version,
            buildMs: Math.round(t1 - t0),
            dagMs: s.stats.dagMs,
            rootsRecomputed: s.stats.rootsRecomputed,
            applyMs: Math.round(t2 - t1),
            proxyItemsChanged: this.#workers.proxyItemsChanged,
          },
          'configuration applied',
        );
      } while (this.#again);
    } catch (err) {
      this.#logger.error({ err }, 'applying a new configuration failed; the previous one keeps serving');
    } finally {
      this.#building = false;
    }
  }
}
