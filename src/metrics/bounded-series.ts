// A cap on how many label values a family of series may have: the first
// `limit` keys (in the order the caller gives, which it keeps stable) get
// counters of their own, every other key shares one `other` set. A key
// that stays admitted keeps its counters across admit() calls.

/** The label value of the series every key beyond the limit folds into:
 *  parentheses cannot appear in a host name, a route path or an object name. */
export const OTHER = '(other)';

export class BoundedSeries<T> {
  readonly limit: number;
  readonly other: T;
  readonly #make: () => T;
  #byKey = new Map<string, T>();

  constructor(limit: number, make: () => T) {
    this.limit = limit;
    this.#make = make;
    this.other = make();
  }

  /** Admits the first `limit` distinct keys of `keys`; others fold. */
  admit(keys: Iterable<string>): void {
    const next = new Map<string, T>();
    for (const k of keys) {
      if (next.size >= this.limit) break;
      if (next.has(k)) continue;
      next.set(k, this.#byKey.get(k) ?? this.#make());
    }
    this.#byKey = next;
  }

  /** The key's own counters, or the shared ones when it was not admitted. */
  get(key: string): T {
    return this.#byKey.get(key) ?? this.other;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  entries(): IterableIterator<[string, T]> {
    return this.#byKey.entries();
  }
}
