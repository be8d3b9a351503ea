// Hop-by-hop header handling per RFC 9110 section 7.6.1: Connection and the
// fields it lists, Keep-Alive, Proxy-Connection, TE (except "trailers"),
// Transfer-Encoding and Upgrade never cross the proxy.

/** Request header names the proxy drops or sets itself. */
export const REQUEST_SKIP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'host',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-envoy-external-address',
  'x-request-id',
  'http2-settings',
]);

export const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

/** Extra field names listed in a Connection header, beyond close/keep-alive. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const v = Array.isArray(value) ? value.join(',') : value;
  const lower = v.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return undefined;
  let out: Set<string> | undefined;
  for (const t of lower.split(',')) {
    const n = t.trim();
    if (n === '' || n === 'close' || n === 'keep-alive' || n === 'upgrade') continue;
    (out ??= new Set()).add(n);
  }
  return out;
}

/** Copies response headers minus hop-by-hop ones (undici gives lower-case keys). */
export function filterResponseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const listed = connectionTokens(h['connection']);
  const out: Record<string, string | string[] | undefined> = {};
  for (const k in h) {
    if (RESPONSE_HOP.has(k)) continue;
    if (listed !== undefined && listed.has(k)) continue;
    out[k] = h[k];
  }
  return out;
}
