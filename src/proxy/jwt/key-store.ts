// The key sources of every provider in the applied config, kept across
// config swaps: a provider whose JWKS settings did not change keeps its
// cached keys (no refetch on every reload), one that changed starts fresh,
// and sources no provider uses any more are dropped.
import { LocalKeys, RemoteKeys, type KeySource, type RemoteKeysOptions } from './key-source.ts';
import { JwtVerifier, type VerifierOptions } from './verifier.ts';
import type { JwtProviderSpec } from './types.ts';

export type JwtStoreOptions = RemoteKeysOptions & VerifierOptions;

export class JwtKeyStore {
  readonly #opts: JwtStoreOptions;
  #sources = new Map<string, KeySource>();

  constructor(opts: JwtStoreOptions = {}) {
    this.#opts = opts;
  }

  /** Verifiers for one config's providers, by provider name within each
   *  list; call once per applied config with all of its provider lists. */
  apply(lists: readonly (readonly JwtProviderSpec[])[]): Map<string, JwtVerifier>[] {
    const next = new Map<string, KeySource>();
    const out = lists.map((providers) => {
      const byName = new Map<string, JwtVerifier>();
      for (const p of providers) {
        const key = JSON.stringify(p.jwks);
        let source = next.get(key) ?? this.#sources.get(key);
        source ??= p.jwks.kind === 'remote' ? new RemoteKeys(p.jwks, this.#opts) : new LocalKeys(p.jwks);
        next.set(key, source);
        byName.set(p.name, new JwtVerifier(p, source, this.#opts));
      }
      return byName;
    });
    this.#sources = next;
    return out;
  }

  /** How many distinct key sources the applied config uses. */
  get size(): number {
    return this.#sources.size;
  }
}
