// Compiled forms kept from one apply to the next. A virtual host's compiled
// routes or TLS choice hold the cluster runtimes they looked up, so they are
// kept per config object only while every one of those lookups still gives
// the same runtime; then reusing them gives exactly what compiling again would.
import type { ClusterRuntime } from './cluster.ts';

/** Where compiled routes find their clusters (a Map of them will do). */
export interface ClusterLookup {
  get(name: string): ClusterRuntime | undefined;
}

export type Warn = (fqdn: string, message: string) => void;

export interface Reusable<T> {
  value: T;
  /** Every cluster name looked up, and what each gave (same index). Plain
   *  arrays: checking 10,000 of these is on every apply's path. */
  names: string[];
  clusters: (ClusterRuntime | undefined)[];
  /** Said again on reuse, as a fresh compile would say them. */
  warnings: [fqdn: string, message: string][];
  /** The last lookup found to give the same clusters. The cluster registry
   *  returns the same map again when no cluster changed (and never changes a
   *  map it returned), so the common reload skips the check. */
  validFor: ClusterLookup;
}

/** Runs `compile`, recording its cluster lookups and warnings. */
export function record<T>(clusters: ClusterLookup, warn: Warn, compile: (clusters: ClusterLookup, warn: Warn) => T): Reusable<T> {
  const names: string[] = [];
  const found: (ClusterRuntime | undefined)[] = [];
  const warnings: [string, string][] = [];
  const value = compile(
    {
      get(name) {
        const c = clusters.get(name);
        names.push(name);
        found.push(c);
        return c;
      },
    },
    (fqdn, message) => {
      warnings.push([fqdn, message]);
      warn(fqdn, message);
    },
  );
  return { value, names, clusters: found, warnings, validFor: clusters };
}

/** True (and its warnings said again) when `kept` still holds for `clusters`. */
export function stillValid<T>(kept: Reusable<T> | undefined, clusters: ClusterLookup, warn: Warn): kept is Reusable<T> {
  if (kept === undefined) return false;
  if (kept.validFor !== clusters) {
    const { names, clusters: found } = kept;
    for (let i = 0; i < names.length; i++) if (clusters.get(names[i]!) !== found[i]) return false;
    kept.validFor = clusters;
  }
  for (const [fqdn, message] of kept.warnings) warn(fqdn, message);
  return true;
}
