// One downstream request from arrival to the last byte: host and route
// lookup, local answers (404, 421, redirects, direct responses), then the
// upstream exchange through the endpoint pool's dispatch() (undici's handler
// API, served by isobar's HTTP/1.1 client or undici's HTTP/2 one) with
// retries and timeouts.
// What each failure answers is the failure table's to say (failure.ts); the
// upstream request head, mirroring and the access log record are built in
// their own files, so this one holds only the state machine.
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Readable, Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UpstreamCounters } from '../metrics/index.ts';
import type { InternalRedirectConfig, RetryPolicyConfig } from '../dag/index.ts';
import { writeAccessLog } from './access-log.ts';
import type { ClusterRuntime, Endpoint } from './cluster.ts';
import type { ConnInfo, DownstreamRequest } from './conn-info.ts';
import { requestConn } from './trusted-client.ts';
import { armHttp2RequestTimeout } from './http2-request-timeout.ts';
import { portState, type ProxyContext, type ProxyState } from './context.ts';
import { FAILURES, failureBody, TryAbandoned, upstreamFailure, type Failure, type FailureCode, type ResponseFlag } from './failure.ts';
import { applyToObject, type OpContext } from './header-ops.ts';
import { filterResponseHeaders } from './hop-by-hop.ts';
import { normalizeHost } from './host.ts';
import { AFFINITY_COOKIE, affinityCookie, type HashInput } from './load-balancer.ts';
import { abortResponse, sendGrpcLocal, sendLocal, type DownstreamResponse } from './local-reply.ts';
import { http01Answer } from './acme-http01.ts';
import type { RequestView } from './matchers.ts';
import { canonicalPath } from './path-normalize.ts';
import { sendMirror } from './mirror.ts';
import { authorityPort, httpsRedirectLocation, redirectLocation, type RedirectInput } from './redirect.ts';
import { backoffMs, retriableFailure, retriableResponse } from './retry-policy.ts';
import { runFilters } from './filter-chain.ts';
import { applyClientCertHeader } from './client-certificate.ts';
import { compressResponse } from './compression.ts';
import { GrpcWebCall, INVALID_BASE64, isGrpcContentType, isGrpcWebRequest, nonGrpcAnswerHeaders } from './grpc-web.ts';
import { rewriteSetCookies } from './cookie-rewrite.ts';
import { firstVisit, redirectTarget, type RedirectChain, type RedirectTarget } from './internal-redirect.ts';
import type { FilterRequest, FilterVerdict, RequestFilter } from './request-filter.ts';
import { findVhost, matchRoute, pickBackend, type CompiledBackend, type CompiledRoute, type CompiledVhost } from './route-table.ts';
import { upstreamRequestHead, type RequestHeaders } from './upstream-request.ts';
import { StreamDeadlines } from './stream-deadlines.ts';
import { isInternalRequest, requestIdFor } from './request-id.ts';
import { parseRequestTarget } from './request-target.ts';
import type { UpstreamConnectError } from './upstream-tls.ts';

/** Bodies up to this size are buffered on routes with retries, so they can be resent. */
const RETRY_BUFFER_LIMIT = 64 * 1024;

/** Serves one request. `http2RequestMs`: the HTTP/2 request timeout, when one is set. */
export function handleRequest(ctx: ProxyContext, req: DownstreamRequest, res: DownstreamResponse, http2RequestMs?: number): void {
  let ex: Exchange | undefined;
  try {
    const conn = requestConn(req, ctx.numTrustedHops);
    if (conn === undefined) {
      // Cannot happen for connections accepted by a listener; answer rather than throw.
      sendLocal(res, 500, '');
      return;
    }
    const exchange = new Exchange(ctx, ctx.state, conn, req, res);
    ex = exchange;
    if (http2RequestMs !== undefined) armHttp2RequestTimeout(req as Http2ServerRequest, res as Http2ServerResponse, http2RequestMs, () => exchange.requestTimedOut());
    ex.run();
  } catch (err) {
    // A bug must cost one request, never the process.
    if (ex !== undefined) return ex.crashed(err);
    ctx.warnOnce(`bug|${(err as Error)?.message}`, { err }, 'request handling failed');
    try {
      sendLocal(res, 500, '');
    } catch {
      abortResponse(res);
    }
  }
}

/** One try upstream: undici's handler, passing events to its exchange. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly ex: Exchange;
  readonly endpoint: Endpoint;
  controller: Dispatcher.DispatchController | undefined;
  /** A retriable response whose body is being drained and dropped. */
  discard = false;
  gotHeaders = false;
  /** This try is a retry counted against the cluster's max_retries. */
  holdsRetry = false;
  readonly started = performance.now();
  constructor(ex: Exchange, endpoint: Endpoint) {
    this.ex = ex;
    this.endpoint = endpoint;
  }
  // Each event is a per-request boundary: a thrown error costs this
  // request (crashed()), never undici's connection or the process.
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ex.attempt !== this || this.ex.done) controller.abort(new TryAbandoned('the exchange is over'));
  }
  onBodySent(chunk: Buffer | string): void {
    if (this.ex.attempt === this) this.ex.bytesReceived += chunk.length;
  }
  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: RequestHeaders): void {
    this.gotHeaders = true;
    try {
      this.ex.onResponseStart(this, controller, status, headers);
    } catch (err) {
      this.ex.crashed(err);
    }
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    try {
      this.ex.onResponseData(this, controller, chunk);
    } catch (err) {
      this.ex.crashed(err);
    }
  }
  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: RequestHeaders): void {
    try {
      this.ex.onResponseEnd(this, trailers);
    } catch (err) {
      this.ex.crashed(err);
    }
  }
  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    try {
      this.ex.onResponseError(this, err);
    } catch (e) {
      this.ex.crashed(e);
    }
  }
}

class Exchange implements RequestView, OpContext, HashInput {
  readonly ctx: ProxyContext;
  readonly state: ProxyState;
  readonly conn: ConnInfo;
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  readonly reqHeaders: RequestHeaders;
  readonly startTime = Date.now();
  readonly startPerf = performance.now();
  // RequestView
  path = '/';
  query = '';
  // OpContext
  clientAddress: string;
  clientPort: number;
  /** Envoy's response code details, for %RESPONSE_CODE_DETAILS%. */
  codeDetails = '';

  authority = '';
  host = '';
  requestId = '';
  /** Envoy's internal request (request-id.ts). */
  internalRequest = false;
  xff = '';
  route: CompiledRoute | undefined;
  vhost: CompiledVhost | undefined;
  /** How many of the route's request filters have run, and whether the
   *  last of them answered the request itself. */
  filtersRan = 0;
  filterAnswered = false;
  backend: CompiledBackend | undefined;
  private picked: { backend: CompiledBackend | undefined } | undefined;
  cluster: ClusterRuntime | undefined;
  attempt: Attempt | undefined;
  attempts = 0;
  done = false;
  status = 0;
  flags: ResponseFlag = '-';
  bytesSent = 0;
  /** Request body bytes sent upstream by the try that answered. */
  bytesReceived = 0;
  upstreamHost = '-';
  /** The response's headers and trailers as sent (the access log reads them). */
  responseHeaders: RequestHeaders | undefined;
  responseTrailers: RequestHeaders | undefined;
  upstreamHeaders: string[] = [];
  upstreamPath = '/';
  /** The request body is streamed straight through (so it cannot be replayed). */
  hasBody = false;
  /** A small body read in full so retries can resend it. */
  bodyBuffer: Buffer | undefined;
  /** The real request's half of a body shared with a mirror. */
  bodyStream: Readable | undefined;
  /** A request filter's stream of the whole body, once it read the request's. */
  bodySource: Readable | undefined;
  private watchingClient = false;
  affinity: string | undefined;
  setAffinity = false;
  private deadlines: StreamDeadlines | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private retry: RetryPolicyConfig | undefined;
  /** The response body's compressor (Envoy's compressor filter), when it is compressed. */
  private compressor: Transform | undefined;
  private compressedBytes = 0;
  /** A filter's grpc-status for its local answer to a gRPC client. */
  private grpcStatus: number | undefined;
  /** The translation of a gRPC-Web request (Envoy's grpc_web filter). */
  private grpcWeb: GrpcWebCall | undefined;
  /** Waiting for a connection within the cluster's max_pending_requests. */
  private waiting: object | undefined;
  /** A retry was decided (and counted against max_retries) and its try has not started. */
  private retryHeld = false;

  /** Internal redirects this downstream request has been through; set
   *  on the exchange that follows one. */
  private readonly chain: RedirectChain | undefined;
  /** A 3xx being drained that the route's internal redirect policy follows. */
  private redirectTo: RedirectTarget | undefined;
  private redirectStatus = 0;
  /** The exchange that took the request over after an internal redirect. */
  private successor: Exchange | undefined;

  constructor(ctx: ProxyContext, state: ProxyState, conn: ConnInfo, req: DownstreamRequest, res: DownstreamResponse, chain?: RedirectChain) {
    this.chain = chain;
    this.ctx = ctx;
    this.state = state;
    this.conn = conn;
    this.req = req;
    this.res = res;
    this.reqHeaders = req.headers as RequestHeaders;
    this.clientAddress = conn.clientAddress;
    this.clientPort = conn.clientPort;
  }

  get protocol(): string {
    return this.req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/${this.req.httpVersion}`;
  }

  get upstreamAddress(): string {
    return this.upstreamHost === '-' ? '' : this.upstreamHost;
  }

  header(name: string): string | undefined {
    const v = this.reqHeaders[name];
    if (v === undefined) {
      // Host and :authority are one field in HTTP/1.1 and HTTP/2; :method
      // is matched as a header (Gateway API method matches) on both, and
      // the pseudo-headers are there for %REQ()% on HTTP/1.1 too.
      if (name === ':method') return this.req.method;
      if (name === ':path') return this.req.url;
      if (name === ':scheme') return this.conn.tls !== undefined ? 'https' : 'http';
      return (name === 'host' || name === ':authority') && this.authority !== '' ? this.authority : undefined;
    }
    if (typeof v === 'string') return v;
    return v.join(',');
  }

  // ---- arrival: host, route, local answers ----

  run(): void {
    const { ctx, req, conn } = this;
    if (this.chain === undefined) {
      // A redirected request is the same downstream request: counted once.
      ctx.stats.requests++;
      ctx.stats.activeRequests++;
      ctx.stats.listener(conn.listener).start();
    }
    const h2 = req.httpVersionMajor === 2;
    const authority = (h2 ? (this.reqHeaders[':authority'] as string | undefined) : undefined) ?? (this.reqHeaders.host as string | undefined) ?? '';
    this.authority = authority;
    const target = parseRequestTarget(req.url ?? '/', !h2);
    if (!target.ok) return this.fail('bad-request');
    if (target.authority !== undefined) {
      // Absolute form: the target's authority is the host (RFC 9112
      // §3.2.2); it routes the request and replaces Host, as in Envoy.
      this.authority = target.authority;
      this.reqHeaders.host = target.authority;
    }
    this.query = target.query;
    // Routed and forwarded canonical, as Contour's Envoy (normalize_path, merge_slashes).
    const path = canonicalPath(target.path, ctx.mergeSlashes);
    if (path === undefined) return this.fail('bad-request');
    this.path = path;
    this.host = normalizeHost(this.authority);
    // Before routing and the filters, as Contour's grpc_web filter comes
    // before cors and the others: they all see a gRPC request.
    const ct = this.reqHeaders['content-type'];
    if (isGrpcWebRequest(ct)) this.grpcWeb = new GrpcWebCall(this.reqHeaders, ct, this.requestHasBody());
    this.internalRequest = isInternalRequest(this.reqHeaders['x-forwarded-for'], conn);
    this.requestId = requestIdFor(this.reqHeaders['x-request-id'], !this.internalRequest, ctx.preserveExternalRequestId);
    applyClientCertHeader(this.reqHeaders, conn);
    const keyAuthorization = http01Answer(ctx.acmeHttp01, req.method, this.path, conn.tls !== undefined);
    if (keyAuthorization !== undefined) return this.local(200, keyAuthorization, '-', { 'content-type': 'application/octet-stream' });

    const vhost = findVhost(portState(this.state, conn.table).tables, conn.tls, this.host);
    if (vhost === 'misdirected') ctx.stats.misdirected++;
    if (typeof vhost === 'string') return this.fail(vhost);
    const route = matchRoute(vhost, this);
    if (route === undefined) return this.fail('no-route');
    this.route = route;
    this.vhost = vhost;
    if (route.filters.length > 0) return this.filter(route.filters);
    this.act();
  }

  // ---- request filters ----

  /** Runs the route's request filters; an answer from one ends the request
   *  there, and an error in one answers 500: never a pass. */
  private filter(filters: readonly RequestFilter[]): void {
    this.watchClient();
    const view = this.filterRequest();
    let verdict: FilterVerdict | Promise<FilterVerdict>;
    try {
      verdict = runFilters(filters, view, (n) => (this.filtersRan = n));
    } catch (err) {
      return this.filterFailed(err);
    }
    if (verdict instanceof Promise) {
      verdict.then(
        (v) => {
          if (!this.done) this.afterFilters(v);
        },
        (err: unknown) => this.filterFailed(err),
      );
    } else this.afterFilters(verdict);
  }

  private afterFilters(v: FilterVerdict): void {
    if (v === undefined) return this.act();
    this.filterAnswered = true;
    if (v.grpcStatus !== undefined) this.grpcStatus = v.grpcStatus;
    this.local(v.status, v.body ?? '', v.flag ?? '-', v.headers);
  }

  private filterFailed(err: unknown): void {
    if (this.done) return;
    this.ctx.warnOnce(`filter|${(err as Error)?.message}`, { err }, 'a request filter failed; the request is refused');
    this.filterAnswered = false;
    this.local(500, '', '-');
  }

  /** The response hooks of the filters that ran before the one that
   *  answered (or of all that ran, when the route's action answered). */
  private filterResponse(status: number, headers: RequestHeaders): void {
    const filters = this.route?.filters;
    if (filters === undefined || this.filtersRan === 0) return;
    const n = this.filterAnswered ? this.filtersRan - 1 : this.filtersRan;
    const view = this.filterRequest();
    for (let i = 0; i < n; i++) filters[i]!.onResponse?.(view, status, headers);
  }

  private filterView: FilterRequest | undefined;
  private filterRequest(): FilterRequest {
    if (this.filterView !== undefined) return this.filterView;
    const ex = this;
    this.filterView = {
      method: this.req.method ?? 'GET',
      path: this.path,
      get query(): string {
        return ex.query;
      },
      host: this.host,
      authority: this.authority,
      scheme: this.conn.https ? 'https' : 'http',
      httpVersion: this.req.httpVersion,
      headers: this.reqHeaders,
      conn: this.conn,
      requestId: this.requestId,
      vhost: this.vhost!.config,
      route: this.route!.route,
      get targetCounters(): UpstreamCounters | undefined {
        return ex.target()?.cluster?.counters;
      },
      get body(): Readable | undefined {
        return ex.requestHasBody() ? ex.requestBody() : undefined;
      },
      replaceBody(stream: Readable): void {
        ex.bodySource = stream;
      },
      replaceQuery(query: string): void {
        ex.query = query;
      },
    };
    return this.filterView;
  }

  // ---- the route's action ----

  private act(): void {
    const { conn } = this;
    const route = this.route!;
    const r = route.route;
    // A client already on TLS (a PROXY v2 SSL TLV from a TLS-terminating load
    // balancer) is served, not sent round a redirect loop.
    if (r.httpsRedirect && !conn.https) {
      return this.local(301, '', '-', { location: httpsRedirectLocation(this.redirectInput()) });
    }
    const action = r.action;
    if (action.kind === 'redirect') {
      return this.local(action.statusCode, '', '-', { location: redirectLocation(action, this.redirectInput()) }, true);
    }
    if (action.kind === 'direct') {
      return this.local(action.statusCode, action.body ?? '', '-', undefined, true);
    }
    this.forward();
  }

  private redirectInput(): RedirectInput {
    return {
      scheme: this.conn.https ? 'https' : 'http',
      host: this.host,
      port: authorityPort(this.authority),
      path: this.path,
      query: this.query,
      matchedPrefix: this.route?.prefix,
    };
  }

  /** Writes a local reply and finishes the exchange. */
  local(status: number, body: string, flags: ResponseFlag, headers?: RequestHeaders, applyRouteOps = false): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.status = status;
    this.flags = flags;
    if (flags === 'NR') this.ctx.stats.noRoute++;
    let h = headers;
    if (applyRouteOps) this.codeDetails = 'direct_response';
    if (applyRouteOps && this.route && !this.route.responseOps.empty) {
      h = { ...(headers ?? {}) };
      applyToObject(h, this.route.responseOps, this);
    }
    if (this.filtersRan > 0) {
      h = { ...(h ?? {}) };
      this.filterResponse(status, h);
    }
    this.closeIfRequestIncomplete();
    try {
      const gw = this.grpcWeb;
      if (gw?.invalid) this.bytesSent = sendLocal(this.res, status, '', nonGrpcAnswerHeaders(status, Buffer.from(body), h ?? {}, gw.contentType));
      else if (status >= 400 && isGrpcContentType(this.reqHeaders['content-type'])) sendGrpcLocal(this.res, status, body, this.grpcStatus, h, gw?.contentType);
      else this.bytesSent = sendLocal(this.res, status, body, h);
      this.responseHeaders = h;
    } catch {
      abortResponse(this.res);
    }
    this.finish();
  }

  /** Ends on a failure: resent when the route's retry policy covers it,
   *  otherwise answered with the failure's status, body and flag, or cut
   *  off once the response has started. */
  private fail(code: FailureCode, detail?: string): void {
    const f: Failure = FAILURES[code];
    if (f.retryOn !== undefined && this.canRetry() && retriableFailure(this.retry, f.retryOn) && this.takeRetry()) return this.scheduleRetry();
    if (f.status === undefined || this.res.headersSent) return this.resetDownstream(f.flag);
    this.local(f.status, failureBody(code, detail), f.flag);
  }

  // ---- upstream ----

  /** The backend the request goes to, picked once: filters that count in
   *  the route target cluster's scope may ask before the route's action. */
  private target(): CompiledBackend | undefined {
    if (this.picked === undefined) {
      const route = this.route!;
      this.picked = { backend: route.route.action.kind === 'forward' ? pickBackend(route.backends, route.totalWeight) : undefined };
    }
    return this.picked.backend;
  }

  private forward(): void {
    const route = this.route!;
    const backend = this.target();
    if (backend?.directStatus !== undefined) return this.local(backend.directStatus, '', '-', undefined, true);
    if (backend === undefined || backend.cluster === undefined) {
      this.ctx.stats.upstreamNoHealthy++;
      return this.fail('no-healthy-upstream');
    }
    this.backend = backend;
    const cluster = backend.cluster;
    this.cluster = cluster;
    const r = route.route;
    this.retry = r.retry;

    const h = this.reqHeaders;
    this.hasBody = this.requestHasBody();
    const head = upstreamRequestHead({
      headers: h,
      authority: this.authority,
      path: this.path,
      query: this.query,
      https: this.conn.https,
      xffAddress: this.conn.connectionAddress,
      requestId: this.requestId,
      internal: this.internalRequest,
      originalUrl: this.chain?.originalUrl,
      teTrailers: true,
      route,
      backend,
      ops: this,
    });
    this.upstreamHeaders = head.headers;
    this.upstreamPath = head.path;
    this.xff = head.xForwardedFor;
    if (cluster.cookieAffinity) {
      this.affinity = affinityCookie(this.header('cookie'));
      if (this.affinity === undefined) {
        this.affinity = randomUUID().replace(/-/g, '').slice(0, 16);
        this.setAffinity = true;
      }
    }

    this.watchClient();

    const responseMs = r.timeouts.responseMs ?? 0;
    const idleMs = r.timeouts.idleMs ?? 0;
    if (responseMs > 0 || idleMs > 0) {
      // The response timeout runs from the request's end (Envoy's route timeout).
      const pending = this.hasBody && !this.req.complete;
      const deadlines = new StreamDeadlines(responseMs, idleMs, (which) => this.onTimeout(which), !pending);
      this.deadlines = deadlines;
      if (pending) this.req.once('end', () => deadlines.requestDone());
    }
    if (this.retry !== undefined && this.hasBody) {
      const cl = Number(h['content-length']);
      if (cl > 0 && cl <= RETRY_BUFFER_LIMIT) return this.bufferBody(route.mirrors);
    }
    if (route.mirrors !== undefined) this.mirror(route.mirrors);
    this.startAttempt();
  }

  /** An HTTP/1 response that starts before its request has arrived whole
   *  (a local reply to an upload, a timeout) closes the connection after
   *  it, as Envoy does: the rest of the body is never read as a next
   *  request, and node:http's request timeout cannot answer the same
   *  request a second time. */
  private closeIfRequestIncomplete(): void {
    // node:http emits a request before it parses the message's end, so a
    // bodiless one is "incomplete" here too: only a body can be pending.
    if (this.req.httpVersionMajor !== 2 && !this.req.complete && !this.res.headersSent && this.requestHasBody()) (this.res as ServerResponse).shouldKeepAlive = false;
  }

  private requestHasBody(): boolean {
    if (this.grpcWeb !== undefined) return this.grpcWeb.hasBody;
    const req = this.req;
    const h = this.reqHeaders;
    return req.httpVersionMajor === 2
      ? !(req as Http2ServerRequest).stream.endAfterHeaders
      : h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
  }

  /** The request body as the upstream gets it: a filter's replacement,
   *  else the request's, decoded when it is gRPC-Web text. */
  private requestBody(): Readable {
    if (this.bodySource === undefined && this.grpcWeb?.textRequest) {
      this.bodySource = this.grpcWeb.upstreamBody(this.req as unknown as Readable, () => this.grpcWebInvalid());
    }
    return this.bodySource ?? (this.req as unknown as Readable);
  }

  /** A gRPC-Web text body that is not base64: Envoy's 400, and the try
   *  (which may have started) is abandoned. */
  private grpcWebInvalid(): void {
    if (this.done) return;
    this.abortAttempt(new TryAbandoned('the gRPC-Web body is not base64'));
    if (this.res.headersSent) return this.resetDownstream('-');
    this.local(400, INVALID_BASE64, '-');
  }

  /** A client that goes away ends the exchange (once, whatever its stage). */
  private watchClient(): void {
    if (this.watchingClient) return;
    this.watchingClient = true;
    (this.res as EventEmitter).on('close', () => this.clientGone());
  }

  private clientGone(): void {
    // After an internal redirect the request is the successor's.
    if (this.successor !== undefined) return this.successor.clientGone();
    if (!this.done) {
      this.flags = 'DC';
      this.abortAttempt(new TryAbandoned('the client went away'));
      this.done = true;
      this.clearTimers();
      this.finish();
    }
  }

  /** Reads a small body in full (as Envoy buffers for retries), then sends. */
  private bufferBody(mirrors: CompiledRoute['mirrors']): void {
    const chunks: Buffer[] = [];
    const req = this.requestBody();
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      if (this.done) return;
      this.bodyBuffer = Buffer.concat(chunks);
      this.hasBody = false;
      if (mirrors !== undefined) this.mirror(mirrors);
      this.startAttempt();
    });
    req.once('error', () => {
      if (!this.done) this.fail('bad-request');
    });
  }

  private mirror(mirrors: NonNullable<CompiledRoute['mirrors']>): void {
    const request = { method: this.req.method, path: this.upstreamPath, headers: this.upstreamHeaders, authority: this.authority, pick: this };
    for (const mirror of mirrors) {
      // A streamed body is split off once per mirror: each takes its copy
      // from what the one before left for the real request.
      const body = this.bodyBuffer ?? (this.bodyStream ?? (this.hasBody ? this.requestBody() : undefined));
      const primary = sendMirror(mirror, request, body, this.ctx.stats);
      if (primary !== undefined) this.bodyStream = primary;
    }
  }

  private startAttempt(): void {
    const cluster = this.cluster!;
    const ep = cluster.pick(this, this.affinity);
    if (ep === undefined) {
      this.ctx.stats.upstreamNoHealthy++;
      return this.fail('no-healthy-upstream');
    }
    const budget = cluster.budget;
    if (budget.requestsFull()) return this.overflow();
    if (!budget.canSend(ep)) {
      this.waiting = budget.wait(ep, () => {
        this.waiting = undefined;
        if (!this.done) this.send(ep);
      });
      if (this.waiting === undefined) return this.overflow();
      return;
    }
    this.send(ep);
  }

  /** The circuit breakers refused the request: Envoy's 503 overflow. */
  private overflow(): void {
    this.ctx.stats.upstreamOverflow++;
    this.cluster!.counters.rqPendingOverflow++;
    const f = FAILURES.overflow;
    if (this.res.headersSent) return this.resetDownstream(f.flag);
    this.local(f.status!, f.body, f.flag, { 'x-envoy-overloaded': 'true' });
  }

  private send(ep: Endpoint): void {
    const cluster = this.cluster!;
    cluster.budget.sent();
    this.attempts++;
    cluster.counters.rqTotal++;
    this.bytesReceived = 0;
    const a = new Attempt(this, ep);
    a.holdsRetry = this.retryHeld;
    this.retryHeld = false;
    this.attempt = a;
    this.upstreamHost = ep.hostPort;
    ep.active++;
    const perTry = this.retry?.perTryTimeoutMs;
    if (perTry) this.tryTimer = setTimeout(() => this.onTimeout('per-try-timeout'), perTry);
    try {
      ep.pool.dispatch(
        {
          path: this.upstreamPath,
          method: this.req.method as Dispatcher.HttpMethod,
          headers: this.upstreamHeaders,
          body: this.bodyBuffer ?? (this.hasBody ? ((this.bodyStream ?? this.requestBody()) as unknown as NodeJS.ReadableStream as never) : null),
        },
        a,
      );
    } catch (err) {
      this.onResponseError(a, err as Error);
    }
  }

  // ---- the try's events ----

  onResponseStart(a: Attempt, controller: Dispatcher.DispatchController, status: number, headers: RequestHeaders): void {
    if (a !== this.attempt || this.done) {
      controller.abort(new TryAbandoned('not the current try'));
      return;
    }
    this.cluster?.counters.response(status);
    if (this.canRetry() && retriableResponse(this.retry, status, headers) && this.takeRetry()) {
      a.discard = true;
      return;
    }
    const irp = this.route?.route.internalRedirect;
    if (irp !== undefined && !this.res.headersSent) {
      const target = this.internalRedirect(irp, status, headers.location);
      if (target !== undefined) {
        // Drained, so the connection is kept; the redirect follows at its end.
        this.clearTryTimer();
        a.endpoint.succeeded();
        this.redirectTo = target;
        this.redirectStatus = status;
        a.discard = true;
        return;
      }
    }
    this.clearTryTimer();
    a.endpoint.succeeded();
    this.status = status;
    this.codeDetails = 'via_upstream';
    const out = filterResponseHeaders(headers);
    // As Envoy: milliseconds the upstream took to answer.
    out['x-envoy-upstream-service-time'] = String(Math.round(performance.now() - a.started));
    if (this.backend !== undefined) applyToObject(out, this.backend.responseOps, this);
    if (this.route !== undefined) applyToObject(out, this.route.responseOps, this);
    this.filterResponse(status, out);
    if (this.setAffinity) {
      const cookie = `${AFFINITY_COOKIE}=${this.affinity}; Path=/; HttpOnly`;
      const prev = out['set-cookie'];
      out['set-cookie'] = prev === undefined ? cookie : Array.isArray(prev) ? [...prev, cookie] : [prev, cookie];
    }
    if (this.backend?.cookies !== undefined) rewriteSetCookies(out, this.backend.cookies);
    // gRPC-Web: framed answers go on (compressed too, Contour lists the
    // gRPC-Web types); any other waits here for its body.
    if (this.grpcWeb !== undefined && this.grpcWeb.respond(status, out)) {
      this.deadlines?.touch();
      return;
    }
    if (this.ctx.compression !== 'disabled') this.compressor = compressResponse(this.ctx.compression, this.req.method, this.reqHeaders['accept-encoding'], status, out);
    const res = this.res as ServerResponse;
    this.responseHeaders = out;
    this.closeIfRequestIncomplete();
    try {
      res.writeHead(status, out as Record<string, string | string[]>);
    } catch (err) {
      // Headers the downstream protocol cannot carry: answer 502 instead.
      this.abortAttempt(err as Error);
      return this.fail('invalid-response-header');
    }
    this.deadlines?.touch();
    const z = this.compressor;
    if (z !== undefined) {
      z.on('data', (c: Buffer) => {
        this.compressedBytes += c.length;
        if (!res.write(c)) {
          z.pause();
          res.once('drain', () => z.resume());
        }
      });
      z.once('error', () => res.destroy());
    }
  }

  onResponseData(a: Attempt, controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (a !== this.attempt || a.discard || this.done) return;
    if (this.grpcWeb !== undefined) {
      const out = this.grpcWeb.data(chunk);
      if (out === undefined) return;
      chunk = out;
    }
    this.bytesSent += chunk.length;
    this.deadlines?.touch();
    const z = this.compressor;
    if (z !== undefined) {
      if (!z.write(chunk)) {
        controller.pause();
        z.once('drain', () => controller.resume());
      }
      return;
    }
    const res = this.res as ServerResponse;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(a: Attempt, trailers?: RequestHeaders): void {
    if (a !== this.attempt) return;
    this.cluster?.counters.rqTime.observe(performance.now() - a.started);
    this.detach(a);
    if (this.done) return;
    if (a.discard) return this.redirectTo !== undefined ? this.followRedirect() : this.scheduleRetry();
    this.done = true;
    this.clearTimers();
    const gw = this.grpcWeb;
    if (gw !== undefined) return this.endGrpcWeb(gw, trailers);
    // Trailers (gRPC status) reach HTTP/2 and chunked HTTP/1.1 clients.
    if (trailers !== undefined) {
      this.responseTrailers = trailers;
      for (const _ in trailers) {
        try {
          (this.res as ServerResponse).addTrailers(trailers as Record<string, string>);
        } catch {
          // a trailer the downstream cannot carry is dropped
        }
        break;
      }
    }
    this.endBody();
  }

  /** Ends the response body, through the compressor when there is one. */
  private endBody(tail?: Buffer): void {
    const z = this.compressor;
    if (z !== undefined) {
      z.once('end', () => {
        this.bytesSent = this.compressedBytes;
        this.res.end();
        this.finish();
      });
      if (tail !== undefined) z.end(tail);
      else z.end();
      return;
    }
    if (tail !== undefined) {
      this.bytesSent += tail.length;
      this.res.end(tail);
    } else this.res.end();
    this.finish();
  }

  /** A gRPC-Web answer's end: the held answer of a non-gRPC upstream goes
   *  out as headers only; a framed one ends with its trailer frame. */
  private endGrpcWeb(gw: GrpcWebCall, trailers: RequestHeaders | undefined): void {
    if (!gw.holding) return this.endBody(gw.end(trailers));
    const { status, headers } = gw.release();
    try {
      (this.res as ServerResponse).writeHead(status, headers as Record<string, string | string[]>);
      this.res.end();
    } catch {
      abortResponse(this.res);
    }
    this.finish();
  }

  onResponseError(a: Attempt, err: Error): void {
    if (a !== this.attempt) return;
    this.detach(a);
    if (this.done || err instanceof TryAbandoned) return;
    // The 3xx's body broke off: its Location is all the redirect needs.
    if (this.redirectTo !== undefined) return this.followRedirect();
    const code = upstreamFailure(err, this.res.headersSent || a.gotHeaders);
    const stats = this.ctx.stats;
    let detail: string | undefined;
    if (code === 'upstream-tls') {
      stats.upstreamTlsFailures++;
      detail = (err as UpstreamConnectError).detail;
      this.ctx.warnOnce(
        `tls|${this.cluster?.def.name}|${a.endpoint.hostPort}|${detail.slice(0, 60)}`,
        { cluster: this.cluster?.def.name, upstream: a.endpoint.hostPort, reason: detail },
        'upstream TLS failed; no request sent',
      );
    } else if (code === 'connect-failure' || code === 'connect-refused' || code === 'connect-timeout') {
      stats.upstreamConnectFailures++;
      if (code !== 'connect-failure') a.endpoint.eject(this.cluster!.registry);
    } else {
      stats.upstreamResets++;
      // A kept-alive connection the backend closed just as it was reused:
      // resend a bodyless idempotent request once on a fresh connection.
      if (code === 'socket-closed' && this.attempts === 1 && this.retry === undefined && this.replayable()) {
        return this.scheduleRetry();
      }
    }
    this.fail(code, detail);
  }

  // ---- internal redirects ----

  /** Where the upstream's 3xx sends this request when the route's policy
   *  follows it: Envoy's checks (internal-redirect.ts), then the request
   *  must have no body, a route must take the target, and the
   *  previous-routes predicate must accept it. */
  private internalRedirect(policy: InternalRedirectConfig, status: number, location: string | string[] | undefined): RedirectTarget | undefined {
    const target = redirectTarget(policy, status, location, this.conn.https, this.chain?.count ?? 0);
    if (target === undefined || this.requestHasBody()) return undefined;
    const vhost = findVhost(portState(this.state, this.conn.table).tables, this.conn.tls, normalizeHost(target.authority));
    const path = canonicalPath(target.path, this.ctx.mergeSlashes);
    if (typeof vhost === 'string' || path === undefined) return undefined;
    const view: RequestView = {
      path,
      query: target.query,
      header: (n) => (n === 'host' || n === ':authority' ? target.authority : n === ':path' ? target.path : this.header(n)),
    };
    const to = matchRoute(vhost, view);
    if (to === undefined) return undefined;
    if (policy.denyRepeatedRouteRedirect && !firstVisit(this.redirectChain(), this.route!.route, to.route)) return undefined;
    return target;
  }

  private redirectChain(): RedirectChain {
    return (this.chainForNext ??= this.chain ?? {
      count: 0,
      originalUrl: `${this.conn.https ? 'https' : 'http'}://${this.authority}${this.query ? `${this.path}?${this.query}` : this.path}`,
      visited: new Map(),
    });
  }
  private chainForNext: RedirectChain | undefined;

  /** Sends the request again to the redirect's target, as a new request
   *  (a new route, its filters and policies); this exchange ends unlogged,
   *  since the downstream request goes on. */
  private followRedirect(): void {
    const target = this.redirectTo!;
    const chain = this.redirectChain();
    chain.count++;
    this.done = true;
    this.clearTimers();
    this.leaveQueue();
    const req = this.req;
    const h = this.reqHeaders;
    req.url = target.query ? `${target.path}?${target.query}` : target.path;
    if (req.httpVersionMajor === 2) h[':authority'] = target.authority;
    h.host = target.authority;
    // As Envoy: a 303 is fetched with GET.
    if (this.redirectStatus === 303) {
      if (req.method !== 'GET' && req.method !== 'HEAD') (req as { method?: string }).method = 'GET';
    }
    this.ctx.stats.internalRedirects++;
    const next = new Exchange(this.ctx, this.state, this.conn, req, this.res, chain);
    next.watchingClient = this.watchingClient;
    this.successor = next;
    try {
      next.run();
    } catch (err) {
      next.crashed(err);
    }
  }

  // ---- timeouts and retries ----

  private onTimeout(code: 'response-timeout' | 'per-try-timeout' | 'stream-idle'): void {
    if (this.done) return;
    if (code !== 'stream-idle') this.ctx.stats.upstreamTimeouts++;
    if (code === 'response-timeout' && this.cluster) this.cluster.counters.rqTimeout++;
    else if (code === 'per-try-timeout' && this.cluster) this.cluster.counters.rqPerTryTimeout++;
    this.abortAttempt(new TryAbandoned(code));
    this.fail(code);
  }

  /** The HTTP/2 request did not arrive whole in time and no response has
   *  started (Envoy's request_timeout): 408, the try abandoned. */
  requestTimedOut(): void {
    if (this.done || this.res.headersSent) return;
    this.abortAttempt(new TryAbandoned('request-timeout'));
    this.fail('request-timeout');
  }

  private canRetry(): boolean {
    const p = this.retry;
    return p !== undefined && !this.hasBody && !this.done && !this.res.headersSent && this.attempts <= p.count;
  }

  /** Counts a retry against the cluster's max_retries; over it, no retry
   *  (the try's own answer stands), as Envoy's retry_overflow. */
  private takeRetry(): boolean {
    const cluster = this.cluster;
    if (cluster === undefined) return true;
    if (!cluster.budget.startRetry()) {
      cluster.counters.rqRetryOverflow++;
      return false;
    }
    this.retryHeld = true;
    return true;
  }

  private replayable(): boolean {
    const m = this.req.method;
    return !this.hasBody && !this.done && !this.res.headersSent && (m === 'GET' || m === 'HEAD' || m === 'OPTIONS');
  }

  private scheduleRetry(): void {
    this.ctx.stats.retries++;
    if (this.cluster) this.cluster.counters.rqRetry++;
    const t = setTimeout(() => {
      if (!this.done) this.startAttempt();
    }, backoffMs(this.attempts, this.retry?.minBackoffMs));
    t.unref();
  }

  /** The try is no longer the exchange's: its endpoint slot and timer go. */
  private detach(a: Attempt): void {
    this.attempt = undefined;
    a.endpoint.active--;
    const budget = this.cluster!.budget;
    if (a.holdsRetry) budget.endRetry();
    this.clearTryTimer();
    budget.ended();
  }

  private abortAttempt(reason: Error): void {
    this.leaveQueue();
    const a = this.attempt;
    if (a === undefined) return;
    this.detach(a);
    try {
      a.controller?.abort(reason);
    } catch {
      // already finished
    }
  }

  // ---- the end ----

  /** A bug in this exchange: it costs this request only. */
  crashed(err: unknown): void {
    this.ctx.warnOnce(`bug|${(err as Error)?.message}`, { err }, 'request handling failed');
    if (this.done) return;
    try {
      this.abortAttempt(new TryAbandoned('request handling failed'));
      if (this.res.headersSent) return this.resetDownstream('-');
      this.local(500, '', '-');
    } catch {
      abortResponse(this.res);
    }
  }

  private resetDownstream(flags: ResponseFlag): void {
    this.done = true;
    this.flags = flags;
    this.clearTimers();
    abortResponse(this.res);
    this.finish();
  }

  private clearTryTimer(): void {
    if (this.tryTimer) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
  }

  private clearTimers(): void {
    this.deadlines?.clear();
    if (this.tryTimer) clearTimeout(this.tryTimer);
    this.deadlines = this.tryTimer = undefined;
  }

  /** Gives up a place among the pending requests and a retry not started. */
  private leaveQueue(): void {
    const budget = this.cluster?.budget;
    if (budget === undefined) return;
    if (this.waiting !== undefined) {
      budget.leave(this.waiting);
      this.waiting = undefined;
    }
    if (this.retryHeld) {
      this.retryHeld = false;
      budget.endRetry();
    }
  }

  private finish(): void {
    this.leaveQueue();
    this.compressor?.destroy();
    const stats = this.ctx.stats;
    stats.activeRequests--;
    if (this.status) stats.countStatus(this.status);
    const ms = performance.now() - this.startPerf;
    stats.listener(this.conn.listener).end(this.status, ms);
    if (this.vhost !== undefined) stats.series.vhost(this.vhost.config).record(this.status, ms);
    if (this.route !== undefined) stats.series.route(this.route.route).record(this.status, ms);
    const sink = this.ctx.onAccessLog;
    if (sink === undefined) return;
    writeAccessLog(sink, this.req, this.conn, {
      startTime: this.startTime,
      startPerf: this.startPerf,
      status: this.status,
      flags: this.flags,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      upstreamHost: this.upstreamHost,
      upstreamCluster: this.cluster?.def.name ?? '-',
      xForwardedFor: this.xff || this.clientAddress,
      requestId: this.requestId,
      authority: this.authority,
      responseHeaders: this.responseHeaders,
      responseTrailers: this.responseTrailers,
      attempts: this.attempts,
      route: this.route?.route.origin,
    });
  }
}
