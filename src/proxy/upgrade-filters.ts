// The request filters of a route for a WebSocket upgrade: an upgrade is an
// HTTP request like any other (Envoy runs its HTTP filters on it), so the
// CORS, IP filter, JWT and authorization checks of the route apply before
// the upstream is asked to upgrade; an answer from one (or an error in one)
// is the client's reply and the upstream never sees the request.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { ConnInfo } from './conn-info.ts';
import { runFilters } from './filter-chain.ts';
import type { FilterRequest, LocalAnswer } from './request-filter.ts';
import type { CompiledBackend, CompiledRoute, CompiledVhost } from './route-table.ts';

export interface UpgradeRequest {
  req: IncomingMessage;
  conn: ConnInfo;
  vhost: CompiledVhost;
  route: CompiledRoute;
  host: string;
  authority: string;
  path: string;
  query: string;
  requestId: string;
  /** The backend picked for the upgrade (undefined: the route does not forward). */
  target: CompiledBackend | undefined;
}

/** The filters' verdict: `done(undefined)` to go on with the upgrade,
 *  `done(answer)` to send it instead (a failing filter answers 500). The
 *  query a filter rewrote is what `u.query` holds afterwards. */
export function runUpgradeFilters(u: UpgradeRequest, done: (answer: LocalAnswer | undefined) => void): void {
  const view = {
    method: u.req.method ?? 'GET',
    path: u.path,
    get query(): string {
      return u.query;
    },
    host: u.host,
    authority: u.authority,
    scheme: u.conn.https ? ('https' as const) : ('http' as const),
    httpVersion: u.req.httpVersion,
    headers: u.req.headers,
    conn: u.conn,
    requestId: u.requestId,
    vhost: u.vhost.config,
    route: u.route.route,
    targetCounters: u.target?.cluster?.counters,
    body: undefined as Readable | undefined,
    replaceBody(): void {},
    replaceQuery(query: string): void {
      u.query = query;
    },
  };
  const request: FilterRequest = view;
  const failed: LocalAnswer = { status: 500 };
  let verdict;
  try {
    verdict = runFilters(u.route.filters, request, () => {});
  } catch {
    return done(failed);
  }
  if (verdict instanceof Promise) verdict.then(done, () => done(failed));
  else done(verdict);
}
