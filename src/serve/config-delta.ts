// Proxy configs cross to the workers as deltas. The primary remembers, per
// section, each item it last sent with that item's JSON text, and sends only
// the items that changed since the version before (a change of one virtual
// host at 10,000 is a few kilobytes instead of megabytes to write, copy and
// parse in every worker). A worker keeps its config as maps by key and
// applies a delta only on top of the version it was made against; any other
// worker refuses it and is sent the whole config instead.

import type { ProxyConfig } from '../edge/index.ts';

/** The lists of a ProxyConfig. */
type Section = { [K in keyof ProxyConfig]-?: NonNullable<ProxyConfig[K]> extends readonly unknown[] ? K : never }[keyof ProxyConfig];

/** The field that identifies an item of each list. A new list in
 *  ProxyConfig fails to compile here until it has its key. */
const KEY_FIELD: Record<Section, string> = {
  httpVirtualHosts: 'fqdn',
  httpsVirtualHosts: 'fqdn',
  clusters: 'name',
  secrets: 'id',
  caBundles: 'id',
  extensionClusters: 'name',
  listeners: 'name',
};
const SECTIONS = Object.keys(KEY_FIELD) as Section[];

// ProxyConfig's only field outside the lists is fallbackCertificateId, and
// deltas carry it whole; a new scalar field fails to compile here.
const ONLY_SCALAR: Exclude<keyof ProxyConfig, Section> extends 'fallbackCertificateId' ? true : never = true;
void ONLY_SCALAR;

/** What a delta's JSON text holds. */
export interface ProxyConfigDelta {
  /** New and changed items; an item replaces the one with its key. */
  upsert: { [S in Section]?: ProxyConfig[S] };
  /** Keys of the items that are gone. */
  remove: { [S in Section]?: string[] };
  /** Always the new value; absent means none. */
  fallbackCertificateId?: string;
}

/** A ProxyConfig on its way to the workers, as JSON text made once. */
export interface ProxyConfigUpdate {
  version: number;
  /** Present: `text` is a ProxyConfigDelta against version `base`.
   *  Absent: `text` is the whole ProxyConfig. */
  base?: number;
  text: string;
  /** Items upserted plus items removed (a whole config: all its items). */
  changed: number;
}

interface Sent {
  item: object;
  text: string;
  /** The last call of next() whose config had this key. */
  seen: number;
}

function keyOf(section: Section, item: object): string {
  const r = item as Record<string, unknown>;
  const key = String(r[KEY_FIELD[section]]);
  // A host name is one virtual host per listener (Gateway port listeners).
  return typeof r.listener === 'string' && (section === 'httpVirtualHosts' || section === 'httpsVirtualHosts') ? `${key}\u0000${r.listener}` : key;
}

/** The primary's side: remembers what it last sent and makes each new
 *  version's update against it. */
export class ProxyConfigDeltas {
  #version: number | undefined;
  #calls = 0;
  #sent = emptySections<Sent>();
  #fallback: string | undefined;
  #whole: ProxyConfigUpdate | undefined;

  /** The update from the last version to `version`: a delta, or the whole
   *  config the first time. Call once per version, in order. */
  next(version: number, config: ProxyConfig): ProxyConfigUpdate {
    const base = this.#version;
    const call = ++this.#calls;
    const upsert: string[] = [];
    const remove: string[] = [];
    let changed = 0;
    // The maps are updated in place: at 10,000 items, filling new ones on
    // every version costs more than the comparisons.
    for (const section of SECTIONS) {
      const sent = this.#sent[section];
      const texts: string[] = [];
      for (const item of (config[section] ?? []) as object[]) {
        const key = keyOf(section, item);
        const previous = sent.get(key);
        // Same object: unchanged for certain, and no JSON to make. The DAG
        // hands back the same objects for what it did not rebuild.
        if (previous !== undefined && previous.item === item) {
          previous.seen = call;
          continue;
        }
        const text = JSON.stringify(item);
        if (previous !== undefined && previous.text === text) {
          previous.item = item;
          previous.seen = call;
          continue;
        }
        sent.set(key, { item, text, seen: call });
        texts.push(text);
      }
      const gone: string[] = [];
      for (const [key, s] of sent) {
        if (s.seen === call) continue;
        sent.delete(key);
        gone.push(key);
      }
      if (texts.length > 0) upsert.push(`${JSON.stringify(section)}:[${texts.join(',')}]`);
      if (gone.length > 0) remove.push(`${JSON.stringify(section)}:${JSON.stringify(gone)}`);
      changed += texts.length + gone.length;
    }
    const fallback = config.fallbackCertificateId;
    if (fallback !== this.#fallback) changed++;
    this.#version = version;
    this.#fallback = fallback;
    this.#whole = undefined;
    if (base === undefined) return this.whole(version);
    const text = `{"upsert":{${upsert.join(',')}},"remove":{${remove.join(',')}}${fallbackField(fallback)}}`;
    return { version, base, text, changed };
  }

  /** The whole config of the last version, for a worker with nothing to
   *  build on (just forked, or refused a delta). Made at most once per version. */
  whole(version: number): ProxyConfigUpdate {
    if (version !== this.#version) throw new Error(`proxy config version ${version} asked, last made is ${this.#version ?? 'none'}`);
    if (this.#whole) return this.#whole;
    const parts: string[] = [];
    let changed = 0;
    for (const section of SECTIONS) {
      const texts: string[] = [];
      for (const s of this.#sent[section].values()) texts.push(s.text);
      parts.push(`${JSON.stringify(section)}:[${texts.join(',')}]`);
      changed += texts.length;
    }
    this.#whole = { version, text: `{${parts.join(',')}${fallbackField(this.#fallback)}}`, changed };
    return this.#whole;
  }
}

function fallbackField(id: string | undefined): string {
  return id === undefined ? '' : `,"fallbackCertificateId":${JSON.stringify(id)}`;
}

export type Received =
  | { applied: true; config: ProxyConfig; changed: number }
  /** A delta made against another version than the one held. */
  | { applied: false; reason: string };

/** The worker's side: the current config as maps by key. */
export class ProxyConfigReplica {
  /** The version held; undefined when there is nothing to build on. */
  #version: number | undefined;
  #items = emptySections<object>();
  #fallback: string | undefined;

  get version(): number | undefined {
    return this.#version;
  }

  /** Takes an update in and returns the config it makes. A delta on any
   *  other version than the one held is refused untouched. Malformed text
   *  throws and leaves nothing to build on, as does forget(). */
  receive(update: { version: number; base?: number; text: string }): Received {
    if (update.base !== undefined && update.base !== this.#version) {
      return { applied: false, reason: `delta against version ${update.base}, holding ${this.#version ?? 'none'}` };
    }
    try {
      const changed = update.base === undefined ? this.#replace(JSON.parse(update.text) as unknown) : this.#patch(JSON.parse(update.text) as unknown);
      this.#version = update.version;
      return { applied: true, config: this.config(), changed };
    } catch (err) {
      this.forget();
      throw err;
    }
  }

  /** After an update the runtime could not apply: the next delta would be
   *  built on a config the worker does not serve, so take none. */
  forget(): void {
    this.#version = undefined;
    this.#items = emptySections<object>();
    this.#fallback = undefined;
  }

  /** The config held, as the runtime takes it (unchanged items are the
   *  same objects as before, which lets the runtime keep their compiled form). */
  config(): ProxyConfig {
    const c: ProxyConfig = {
      httpVirtualHosts: [...this.#items.httpVirtualHosts.values()] as ProxyConfig['httpVirtualHosts'],
      httpsVirtualHosts: [...this.#items.httpsVirtualHosts.values()] as ProxyConfig['httpsVirtualHosts'],
      clusters: [...this.#items.clusters.values()] as ProxyConfig['clusters'],
      secrets: [...this.#items.secrets.values()] as ProxyConfig['secrets'],
      caBundles: [...this.#items.caBundles.values()] as ProxyConfig['caBundles'],
    };
    if (this.#fallback !== undefined) c.fallbackCertificateId = this.#fallback;
    if (this.#items.extensionClusters.size > 0) c.extensionClusters = [...this.#items.extensionClusters.values()] as NonNullable<ProxyConfig['extensionClusters']>;
    if (this.#items.listeners.size > 0) c.listeners = [...this.#items.listeners.values()] as NonNullable<ProxyConfig['listeners']>;
    return c;
  }

  #replace(raw: unknown): number {
    const whole = asRecord(raw, 'config');
    const items = emptySections<object>();
    let changed = 0;
    for (const section of SECTIONS) {
      for (const item of itemsOf(whole[section], section)) items[section].set(keyOf(section, item), item);
      changed += items[section].size;
    }
    const fallback = optionalString(whole.fallbackCertificateId, 'fallbackCertificateId');
    this.#items = items;
    this.#fallback = fallback;
    return changed;
  }

  #patch(raw: unknown): number {
    // Checked whole before anything changes, so a bad delta cannot leave
    // half of itself behind.
    const delta = asRecord(raw, 'delta');
    const upsert = asRecord(delta.upsert ?? {}, 'delta.upsert');
    const remove = asRecord(delta.remove ?? {}, 'delta.remove');
    const ups = SECTIONS.map((s) => itemsOf(upsert[s], s));
    const gone = SECTIONS.map((s) => {
      const keys = remove[s] ?? [];
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new Error(`malformed proxy config delta: remove.${s} is not a list of keys`);
      return keys as string[];
    });
    const fallback = optionalString(delta.fallbackCertificateId, 'fallbackCertificateId');
    let changed = 0;
    SECTIONS.forEach((s, i) => {
      const items = this.#items[s];
      for (const key of gone[i]!) items.delete(key);
      for (const item of ups[i]!) items.set(keyOf(s, item), item);
      changed += gone[i]!.length + ups[i]!.length;
    });
    if (fallback !== this.#fallback) changed++;
    this.#fallback = fallback;
    return changed;
  }
}

function emptySections<T>(): Record<Section, Map<string, T>> {
  return { httpVirtualHosts: new Map(), httpsVirtualHosts: new Map(), clusters: new Map(), secrets: new Map(), caBundles: new Map(), extensionClusters: new Map(), listeners: new Map() };
}

function asRecord(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`malformed proxy config: ${what} is not an object`);
  return v as Record<string, unknown>;
}

/** A section's items; missing reads as empty, as the runtime reads it. */
function itemsOf(v: unknown, section: Section): object[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`malformed proxy config: ${section} is not a list`);
  const field = KEY_FIELD[section];
  for (const item of v) {
    if (typeof item !== 'object' || item === null || typeof (item as Record<string, unknown>)[field] !== 'string') {
      throw new Error(`malformed proxy config: an item of ${section} has no ${field}`);
    }
  }
  return v as object[];
}

function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`malformed proxy config: ${what} is not a string`);
  return v;
}
