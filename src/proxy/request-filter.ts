// Request filters: what runs between route selection and the route's action
// (forward, redirect, direct response), as Envoy's HTTP filters run before
// its router. Each feature (CORS, IP filters, JWT, external authorization,
// ...) is one FilterFeature in a file of its own, listed once, in Envoy's
// order, in filter-chain.ts; the exchange knows only these shapes.
import type { Readable } from 'node:stream';
import type { ProxyConfig, Route, SecureVirtualHost, VirtualHost } from '../dag/index.ts';
import type { UpstreamCounters } from '../metrics/index.ts';
import type { ConnInfo } from './conn-info.ts';
import type { ResponseFlag } from './failure.ts';
import type { RequestHeaders } from './upstream-request.ts';

/** What a filter sees of one request. */
export interface FilterRequest {
  readonly method: string;
  /** Normalised path, without the query. */
  readonly path: string;
  /** The query string without its "?", "" when there is none. */
  readonly query: string;
  /** Lower-case host without port, as routing used it. */
  readonly host: string;
  /** Host (HTTP/1) or :authority (HTTP/2) as received. */
  readonly authority: string;
  readonly scheme: 'http' | 'https';
  /** "1.0", "1.1" or "2.0". */
  readonly httpVersion: string;
  /** The downstream request's headers, lower-case names. A filter may set
   *  or delete entries: the upstream request head is built from them once
   *  every filter has run (JWT forwarding, ext_authz header mutations). */
  readonly headers: RequestHeaders;
  /** Per-connection facts: clientAddress is the downstream remote address
   *  (the PROXY header's source when one was received), tls what SNI chose. */
  readonly conn: ConnInfo;
  readonly requestId: string;
  readonly vhost: VirtualHost | SecureVirtualHost;
  readonly route: Route;
  /** The counters of the route target cluster, the one the request will be
   *  forwarded to (picked now, as Envoy picks a weighted cluster when it
   *  matches the route); undefined when the route does not forward. Filters
   *  count their cluster-scoped stats there (cluster.<name>.ext_authz.*). */
  readonly targetCounters: UpstreamCounters | undefined;
  /** The request body as a stream, undefined when the request has none.
   *  A filter that reads it must hand the exchange a stream that yields the
   *  whole body again (replaceBody), or answer the request itself. */
  readonly body: Readable | undefined;
  replaceBody(stream: Readable): void;
  /** Sends this query string (without "?") upstream instead: `query` reads
   *  it from then on (JWT removes an access_token parameter it verified). */
  replaceQuery(query: string): void;
}

/** A local answer that ends the request; the upstream never sees it. */
export interface LocalAnswer {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string;
  /** Envoy's response flag for the access log, '-' when absent. */
  flag?: ResponseFlag;
  /** To a gRPC client: this grpc-status instead of the one the HTTP status maps to. */
  grpcStatus?: number;
}

/** undefined lets the request go on to the next filter, then the route. */
export type FilterVerdict = LocalAnswer | undefined;

export interface RequestFilter {
  readonly name: string;
  onRequest(req: FilterRequest): FilterVerdict | Promise<FilterVerdict>;
  /** Changes the headers of the response sent downstream (the upstream's,
   *  or a local answer's, including another filter's). */
  onResponse?(req: FilterRequest, status: number, headers: RequestHeaders): void;
}

/** One feature: turns a route's config into its filter. Compiled routes are
 *  kept across applies while their virtual host's config object is the same
 *  object, so a filter must look up anything that comes from elsewhere in
 *  the config (CA bundles, extension clusters, key stores) through its
 *  feature at request time, never capture it at compile time. */
export interface FilterFeature {
  readonly name: string;
  /** Called with every applied config before routes are compiled. */
  apply?(config: ProxyConfig): void;
  /** The filter for one route of one virtual host, or undefined when the
   *  feature is off there. `secure` is true on the HTTPS listener. */
  forRoute(vhost: VirtualHost | SecureVirtualHost, route: Route, secure: boolean): RequestFilter | undefined;
  close?(): void;
}
