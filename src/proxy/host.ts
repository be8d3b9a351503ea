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
  /** "*": every host no other entry names (a Gateway listener and route without hostnames). */
  any: V | undefined;

  add(fqdn: string, value: V): void {
    if (fqdn === '*') this.any = value;
    else if (fqdn.startsWith('*.')) this.wildcard.set(fqdn.slice(1), value);
    else this.exact.set(fqdn, value);
  }

  /** host must already be normalised. */
  lookup(host: string): V | undefined {
    const hit = this.exact.get(host);
    if (hit !== undefined) return hit;
    if (this.wildcard.size === 0) return this.any;
    const dot = host.indexOf('.');
    // The wildcard covers exactly one non-empty label.
    if (dot <= 0) return this.any;
    return this.wildcard.get(host.slice(dot)) ?? this.any;
  }

  get size(): number {
    return this.exact.size + this.wildcard.size + (this.any === undefined ? 0 : 1);
  }
}
