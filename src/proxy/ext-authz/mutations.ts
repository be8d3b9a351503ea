// Applying an authorization server's mutations, as Envoy's ext_authz
// filter does: header lines added, appended to, set or removed on the
// request sent upstream (never pseudo-headers or Host removed), query
// parameters set or removed, headers set on a local reply or added to the
// response. Framing headers are never taken from the server, and names or
// values that could not be sent are skipped: the request stays well-formed.
import type { HeaderMutation, UpstreamMutations } from './types.ts';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Headers that frame the message or the connection: the proxy's own. */
const FRAMING = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'content-length', 'http2-settings']);

/** The header a mutation may touch, or null when it may not. ":authority"
 *  is Host. */
function mutableName(key: string): string | null {
  const k = key === ':authority' ? 'host' : key;
  if (!TOKEN.test(k) || FRAMING.has(k)) return null;
  return k;
}

/** Envoy's isRemovableHeader: not a pseudo-header, not Host. */
function removable(key: string): boolean {
  return key !== '' && key.charCodeAt(0) !== 58 /* : */ && key !== 'host' && !FRAMING.has(key);
}

function indexesOf(list: string[], key: string): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) if (list[i] === key) out.push(i);
  return out;
}

/** Applies header mutations to a flat [name, value, ...] list (lower-case
 *  names); returns the new list. */
export function mutateHeaderList(list: string[], mutations: HeaderMutation[], remove: string[] = []): string[] {
  let out = list;
  for (const m of mutations) {
    const key = mutableName(m.key);
    if (key === null || !FIELD_VALUE.test(m.value)) continue;
    if (out === list) out = list.slice();
    const at = indexesOf(out, key);
    switch (m.action) {
      case 'add':
        // Host is one field: adding a second one would make the request invalid.
        if (key === 'host' && at.length > 0) out[at[0]! + 1] = m.value;
        else out.push(key, m.value);
        break;
      case 'append':
        // Envoy's appendCopy: joined into the existing line with ",".
        if (at.length > 0) out[at[0]! + 1] = `${out[at[0]! + 1]},${m.value}`;
        else out.push(key, m.value);
        break;
      case 'addIfAbsent':
        if (at.length === 0) out.push(key, m.value);
        break;
      case 'set':
        out = setLine(out, key, m.value, at);
        break;
      case 'setIfExists':
        if (at.length > 0) out = setLine(out, key, m.value, at);
        break;
    }
  }
  for (const r of remove) {
    const key = r.toLowerCase();
    if (!removable(key)) continue;
    if (indexesOf(out, key).length === 0) continue;
    const next: string[] = [];
    for (let i = 0; i + 1 < out.length; i += 2) if (out[i] !== key) next.push(out[i]!, out[i + 1]!);
    out = next;
  }
  return out;
}

function setLine(list: string[], key: string, value: string, at: number[]): string[] {
  if (at.length === 0) {
    list.push(key, value);
    return list;
  }
  list[at[0]! + 1] = value;
  if (at.length === 1) return list;
  const drop = new Set(at.slice(1));
  const next: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) if (!drop.has(i)) next.push(list[i]!, list[i + 1]!);
  return next;
}

export type HeaderObject = Record<string, string | string[] | undefined>;

/** Applies header mutations to a response header object (lower-case keys),
 *  in place: a denied response's headers, or the OK response's
 *  response_headers_to_add. */
export function mutateHeaderObject(h: HeaderObject, mutations: HeaderMutation[]): HeaderObject {
  for (const m of mutations) {
    const key = mutableName(m.key);
    if (key === null || key === 'host' || !FIELD_VALUE.test(m.value)) continue;
    const cur = h[key];
    const exists = cur !== undefined;
    switch (m.action) {
      case 'add':
        h[key] = !exists ? m.value : Array.isArray(cur) ? [...cur, m.value] : [cur, m.value];
        break;
      case 'append':
        h[key] = !exists ? m.value : `${Array.isArray(cur) ? cur.join(',') : cur},${m.value}`;
        break;
      case 'addIfAbsent':
        if (!exists) h[key] = m.value;
        break;
      case 'set':
        h[key] = m.value;
        break;
      case 'setIfExists':
        if (exists) h[key] = m.value;
        break;
    }
  }
  return h;
}

/** Query parameters in a character set that cannot break the query. */
function encodeQueryPart(s: string): string {
  return s.replace(/[^A-Za-z0-9\-._~!$'()*+,;:@/?=%]/g, (c) => encodeURIComponent(c));
}

/** The query string after query_parameters_to_set (a set key keeps its
 *  first position and loses its other values; a new key goes last) and
 *  query_parameters_to_remove. `query` has no leading "?". */
export function mutateQuery(query: string, set: UpstreamMutations['queryToSet'], remove: string[]): string {
  if (set.length === 0 && remove.length === 0) return query;
  const pairs: { key: string; raw: string }[] = [];
  if (query !== '') {
    for (const part of query.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      pairs.push({ key: eq < 0 ? part : part.slice(0, eq), raw: part });
    }
  }
  let out = pairs;
  for (const { key, value } of set) {
    const raw = `${encodeQueryPart(key)}=${encodeQueryPart(value)}`;
    const k = encodeQueryPart(key);
    const first = out.findIndex((p) => p.key === k);
    if (first < 0) out = [...out, { key: k, raw }];
    else out = out.flatMap((p, i) => (i === first ? [{ key: k, raw }] : p.key === k ? [] : [p]));
  }
  if (remove.length > 0) {
    const gone = new Set(remove.map(encodeQueryPart));
    out = out.filter((p) => !gone.has(p.key));
  }
  return out.map((p) => p.raw).join('&');
}

/** Headers the edge sets on the upstream request itself: a server cannot
 *  choose them (Host is the request's authority). */
const EDGE_SET = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-envoy-external-address', 'x-request-id']);

/** Applies an OK Check's mutations to the request headers the upstream
 *  request head is built from (lower-case keys), in place. */
export function mutateRequestHeaders(h: HeaderObject, mutations: HeaderMutation[], remove: string[]): void {
  mutateHeaderObject(
    h,
    mutations.filter((m) => !EDGE_SET.has(m.key === ':authority' ? 'host' : m.key)),
  );
  for (const r of remove) {
    const key = r.toLowerCase();
    if (removable(key) && !EDGE_SET.has(key)) delete h[key];
  }
}
