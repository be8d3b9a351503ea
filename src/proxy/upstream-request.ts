// The request head sent upstream, as Envoy builds it: the client's headers
// minus hop-by-hop fields and those the edge sets itself, then Host and the
// forwarding headers, the service's and then the route's header policies
// (so the route wins on conflict), and the Host and prefix rewrites. Pure:
// a function of the downstream request and the route chosen.
import { applyToList, type OpContext } from './header-ops.ts';
import { connectionTokens, REQUEST_SKIP } from './hop-by-hop.ts';
import { rewrittenHost, type CompiledBackend, type CompiledRoute } from './route-table.ts';

export type RequestHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamRequestInput {
  /** The downstream request's headers as node:http or node:http2 gives them. */
  headers: RequestHeaders;
  /** Host (HTTP/1.1) or :authority (HTTP/2) as the client sent it. */
  authority: string;
  /** The normalised path, without the query. */
  path: string;
  /** Text after '?', or "". */
  query: string;
  /** X-Forwarded-Proto https. */
  https: boolean;
  /** The address X-Forwarded-For is appended when it is not the client
   *  address (trusted hops took that from X-Forwarded-For). */
  xffAddress?: string | undefined;
  requestId: string;
  /** Envoy's internal request: `x-envoy-internal: true` instead of
   *  `x-envoy-external-address` (request-id.ts). */
  internal: boolean;
  /** x-envoy-original-url: set on a request an internal redirect sent again. */
  originalUrl?: string | undefined;
  /** Pass on a client's `TE: trailers` (a WebSocket upgrade asks for none). */
  teTrailers: boolean;
  route: CompiledRoute;
  backend: CompiledBackend;
  /** What header policy values read (%REQ()%, %CONTOUR_SERVICE_NAME%, the
   *  client address); its header() also serves the dynamic Host rewrite. */
  ops: OpContext;
}

export interface UpstreamRequestHead {
  /** [name, value, name, value, ...] as undici's dispatch() takes them. */
  headers: string[];
  /** Path (after the prefix rewrite) and query. */
  path: string;
  /** X-Forwarded-For as sent, which the access log prints too. */
  xForwardedFor: string;
}

export function upstreamRequestHead(i: UpstreamRequestInput): UpstreamRequestHead {
  const h = i.headers;
  const clientAddress = i.ops.clientAddress;
  let list: string[] = [];
  const listed = connectionTokens(h.connection);
  for (const name in h) {
    if (name.charCodeAt(0) === 58 /* : */ || REQUEST_SKIP.has(name)) continue;
    // x-envoy-* request headers are the edge's to set, never the client's (as Envoy).
    if (name.charCodeAt(0) === 120 /* x */ && name.startsWith('x-envoy-')) continue;
    if (listed !== undefined && listed.has(name)) continue;
    const v = h[name];
    if (typeof v === 'string') list.push(name, v);
    else if (v !== undefined) for (const x of v) list.push(name, x);
  }
  if (i.teTrailers && typeof h.te === 'string' && h.te.toLowerCase().includes('trailers')) list.push('te', 'trailers');
  const prior = h['x-forwarded-for'];
  const priorXff = prior === undefined ? '' : typeof prior === 'string' ? prior : prior.join(', ');
  const appended = i.xffAddress ?? clientAddress;
  const xForwardedFor = priorXff ? `${priorXff}, ${appended}` : appended;
  list.push(
    'host',
    i.authority,
    'x-forwarded-for',
    xForwardedFor,
    'x-forwarded-proto',
    i.https ? 'https' : 'http',
    i.internal ? 'x-envoy-internal' : 'x-envoy-external-address',
    i.internal ? 'true' : clientAddress,
    'x-request-id',
    i.requestId,
  );
  if (i.originalUrl !== undefined) list.push('x-envoy-original-url', i.originalUrl);
  // Service-level policies first, so the route-level ones win on conflict.
  list = applyToList(list, i.backend.requestOps, i.ops);
  list = applyToList(list, i.route.requestOps, i.ops);
  const host = rewrittenHost(i.route, i.backend, (n) => i.ops.header(n));
  if (host) list = replaceHeader(list, 'host', host);
  let path = i.path;
  const prefixRewrite = i.route.route.prefixRewrite;
  const prefix = i.route.prefix;
  if (i.route.route.pathRewrite !== undefined) path = i.route.route.pathRewrite;
  else if (prefixRewrite !== undefined && prefix !== undefined && path.startsWith(prefix)) {
    path = prefixRewrite + path.slice(prefix.length);
    if (path === '') path = '/';
  }
  return { headers: list, path: i.query ? `${path}?${i.query}` : path, xForwardedFor };
}

/** `list` without any `name` field, then `name: value` at the end. */
export function replaceHeader(list: string[], name: string, value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if (list[i] !== name) out.push(list[i]!, list[i + 1]!);
  out.push(name, value);
  return out;
}
