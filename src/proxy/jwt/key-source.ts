// Where a provider's keys come from. A remote JWKS is fetched when first
// needed, used for cacheDuration, then fetched again on the next request
// (Envoy's on-demand fetch): a fetch that fails leaves the provider without
// keys, so requests get 401 until one succeeds; stale keys are never used.
// Concurrent requests share one fetch in flight. A token whose kid no
// cached key has triggers one early refetch (key rotation), at most once per
// kidRefetchIntervalMs, so unknown kids cannot make isobar hammer the server.
import { fetchJwks, JwksFetchError } from './jwks-fetch.ts';
import { KeySet, parseJwks } from './jwks.ts';
import { JWT_STATUS } from './status.ts';
import type { LocalJwksSpec, RemoteJwksSpec } from './types.ts';

/** Envoy's cache duration when remote_jwks.cache_duration is not set. */
export const DEFAULT_CACHE_DURATION_MS = 600_000;
export const DEFAULT_KID_REFETCH_INTERVAL_MS = 10_000;

export type KeysNow = { ok: true; set: KeySet } | { ok: false; status: 'JwksFetchFail' | 'JwksNoValidKeys' };

export interface KeySource {
  /** The keys to verify with now. */
  current(): Promise<KeysNow>;
  /** A token named a kid that `current()` did not have: the refreshed set,
   *  or null when no refetch is allowed now or it failed. */
  refreshForKid(): Promise<KeySet | null>;
}

export interface FetchEvent {
  uri: string;
  ok: boolean;
  /** Why a fetch failed: the transport error, or the JWKS status text. */
  error?: string;
  trigger: 'missing' | 'expired' | 'kid';
}

export interface RemoteKeysOptions {
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
  kidRefetchIntervalMs?: number;
  onFetch?: (e: FetchEvent) => void;
}

export class RemoteKeys implements KeySource {
  readonly spec: RemoteJwksSpec;
  readonly #now: () => number;
  readonly #kidInterval: number;
  readonly #onFetch: ((e: FetchEvent) => void) | undefined;
  #set: KeySet | null = null;
  #expiresAt = 0;
  #inflight: Promise<KeySet | null> | null = null;
  #lastKidRefetch = -Infinity;

  constructor(spec: RemoteJwksSpec, opts: RemoteKeysOptions = {}) {
    this.spec = spec;
    this.#now = opts.now ?? Date.now;
    this.#kidInterval = opts.kidRefetchIntervalMs ?? DEFAULT_KID_REFETCH_INTERVAL_MS;
    this.#onFetch = opts.onFetch;
  }

  async current(): Promise<KeysNow> {
    if (this.#set && this.#now() < this.#expiresAt) return { ok: true, set: this.#set };
    const set = await this.#fetch(this.#set ? 'expired' : 'missing');
    return set ? { ok: true, set } : { ok: false, status: 'JwksFetchFail' };
  }

  async refreshForKid(): Promise<KeySet | null> {
    if (this.#inflight) return this.#inflight;
    const t = this.#now();
    if (t - this.#lastKidRefetch < this.#kidInterval) return null;
    this.#lastKidRefetch = t;
    return this.#fetch('kid');
  }

  #fetch(trigger: FetchEvent['trigger']): Promise<KeySet | null> {
    this.#inflight ??= fetchJwks(this.spec)
      .then((text) => {
        const r = parseJwks(text);
        if (!r.ok) throw new Error(`${JWT_STATUS[r.status]}: ${r.detail}`);
        this.#set = r.set;
        this.#expiresAt = this.#now() + (this.spec.cacheDurationMs ?? DEFAULT_CACHE_DURATION_MS);
        this.#onFetch?.({ uri: this.spec.uri, ok: true, trigger });
        return r.set;
      })
      .catch((err: unknown) => {
        // An expired set stays expired: the next request tries again.
        const error = err instanceof JwksFetchError ? `${err.reason}: ${err.message}` : (err as Error).message;
        this.#onFetch?.({ uri: this.spec.uri, ok: false, error, trigger });
        return null;
      })
      .finally(() => {
        this.#inflight = null;
      });
    return this.#inflight;
  }
}

/** A JWKS from a Secret: read once; one that has no usable key fails every
 *  token, as Envoy does with an invalid inline JWKS. */
export class LocalKeys implements KeySource {
  readonly #now: KeysNow;
  constructor(spec: LocalJwksSpec) {
    const r = parseJwks(spec.json);
    this.#now = r.ok ? { ok: true, set: r.set } : { ok: false, status: 'JwksNoValidKeys' };
  }
  current(): Promise<KeysNow> {
    return Promise.resolve(this.#now);
  }
  refreshForKid(): Promise<KeySet | null> {
    return Promise.resolve(null);
  }
}
