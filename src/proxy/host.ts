// Host header / SNI normalisation and virtual host lookup (exact first, then
// a one-label wildcard `*.example.com`, as Contour programs Envoy).

/** Lower-cases and strips any port and a trailing dot; "" when unusable. */
export function normalizeHost(raw: string | undefined): string {
  if (!raw) return '';
  let h = raw;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    if (end < 0) return '';
    h = h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

export class HostTable<V> {
  readonly exact = new Map<string, V>();
  readonly wildcard = new Map<string, V>(); // key: ".example.com"
  /** Wildcards that cover one or more labels (the Gateway API's), key ".example.com". */
  readonly suffix = new Map<string, V>();
  /** "*": every host no other entry names (a Gateway listener and route without hostnames). */
  any: V | undefined;

  /** anyDepth: a wildcard `*.example.com` covers `a.b.example.com` too
   *  (Gateway API); else exactly one label (Contour's HTTPProxy). */
  add(fqdn: string, value: V, anyDepth = false): void {
    if (fqdn === '*') this.any = value;
    else if (fqdn.startsWith('*.')) (anyDepth ? this.suffix : this.wildcard).set(fqdn.slice(1), value);
    else this.exact.set(fqdn, value);
  }

  /** host must already be normalised. */
  lookup(host: string): V | undefined {
    const hit = this.exact.get(host);
    if (hit !== undefined) return hit;
    if (this.wildcard.size === 0 && this.suffix.size === 0) return this.any;
    const dot = host.indexOf('.');
    if (dot <= 0) return this.any;
    // The one-label wildcard first, then the longest any-depth suffix.
    const one = this.wildcard.get(host.slice(dot));
    if (one !== undefined) return one;
    for (let i = dot; i >= 0 && this.suffix.size > 0; i = host.indexOf('.', i + 1)) {
      const s = this.suffix.get(host.slice(i));
      if (s !== undefined) return s;
    }
    return this.any;
  }

  get size(): number {
    return this.exact.size + this.wildcard.size + this.suffix.size + (this.any === undefined ? 0 : 1);
  }
}
