// One downstream request from arrival to the last byte: host and route
// lookup, local answers (404, 421, redirects, direct responses), then the
// upstream exchange through undici's dispatch() with retries and timeouts.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Http2ServerRequest } from 'node:http2';
import type { Dispatcher } from 'undici';
import type { RetryPolicyConfig } from '../dag/index.ts';
import type { ClusterRuntime, Endpoint } from './cluster.ts';
import { kConn, type ConnInfo } from './conn-info.ts';
import type { ProxyContext, ProxyState } from './context.ts';
import { applyToList, applyToObject, type OpContext } from './header-ops.ts';
import { connectionTokens, filterResponseHeaders, REQUEST_SKIP } from './hop-by-hop.ts';
import { normalizeHost } from './host.ts';
import { AFFINITY_COOKIE, affinityCookie, type HashInput } from './load-balancer.ts';
import {
  BODY_CONNECT_FAILURE,
  BODY_CONNECT_TIMEOUT,
  BODY_IDLE,
  BODY_NO_HEALTHY,
  BODY_OVERFLOW,
  BODY_RESET,
  BODY_TIMEOUT,
  sendGrpcLocal,
  sendLocal,
  tlsFailureBody,
  type DownstreamResponse,
} from './local-reply.ts';
import { normalizePath, type RequestView } from './matchers.ts';
import { authorityPort, httpsRedirectLocation, redirectLocation, type RedirectInput } from './redirect.ts';
import { matchRoute, pickBackend, rewrittenHost, type CompiledBackend, type CompiledRoute, type CompiledVhost } from './route-table.ts';
import { backoffMs, retriableFailure, retriableStatus } from './retry-policy.ts';
import type { TlsChoice } from './tls-choice.ts';
import { UpstreamConnectError } from './upstream-tls.ts';

export type DownstreamRequest = IncomingMessage | Http2ServerRequest;
type Headers = Record<string, string | string[] | undefined>;

/** Bodies up to this size are buffered on routes with retries, so they can be resent. */
const RETRY_BUFFER_LIMIT = 64 * 1024;
/** A mirror lagging this far behind the real request is dropped. */
const MIRROR_BUFFER_LIMIT = 1024 * 1024;

class RetrySignal extends Error {}
class TimeoutSignal extends Error {
  readonly perTry: boolean;
  constructor(perTry: boolean) {
    super(perTry ? 'per-try timeout' : 'response timeout');
    this.perTry = perTry;
  }
}
class IdleSignal extends Error {}
class DownstreamGone extends Error {}

/** The Host must name the virtual host the TLS handshake chose; a
 *  connection on the fallback certificate may reach only vhosts that
 *  enable it. */
export function hostFitsTls(vhost: CompiledVhost, chosen: TlsChoice): boolean {
  return chosen.fqdn === '' ? vhost.secure?.fallbackCertificate === true : vhost.fqdn === chosen.fqdn;
}

/** Reads the per-connection facts for a request (HTTP/1 socket or HTTP/2 session). */
export function connOf(req: DownstreamRequest): ConnInfo | undefined {
  if (req.httpVersionMajor === 2) {
    const session = (req as Http2ServerRequest).stream.session as unknown as { [kConn]?: ConnInfo } | undefined;
    return session?.[kConn];
  }
  return (req.socket as unknown as { [kConn]?: ConnInfo })[kConn];
}

export function handleRequest(ctx: ProxyContext, req: DownstreamRequest, res: DownstreamResponse): void {
  const conn = connOf(req);
  if (conn === undefined) {
    // Cannot happen for connections accepted by a listener; answer rather than throw.
    sendLocal(res, 500, '');
    return;
  }
  try {
    new Exchange(ctx, ctx.state, conn, req, res).run();
  } catch (err) {
    // A bug must cost one request, never the process.
    ctx.warnOnce(`bug|${(err as Error).message}`, { err }, 'request handling failed');
    try {
      sendLocal(res, 500, '');
    } catch {
      res.destroy();
    }
  }
}

class Attempt implements Dispatcher.DispatchHandler {
  readonly ex: Exchange;
  readonly endpoint: Endpoint;
  controller: Dispatcher.DispatchController | undefined;
  /** A retriable response whose body is being drained and dropped. */
  discard = false;
  gotHeaders = false;
  readonly started = performance.now();
  constructor(ex: Exchange, endpoint: Endpoint) {
    this.ex = ex;
    this.endpoint = endpoint;
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ex.attempt !== this || this.ex.done) controller.abort(new DownstreamGone());
  }
  onBodySent(chunk: Buffer | string): void {
    if (this.ex.attempt === this) this.ex.bytesReceived += chunk.length;
  }
  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: Headers): void {
    this.gotHeaders = true;
    this.ex.onResponseStart(this, controller, status, headers);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.ex.onResponseData(this, controller, chunk);
  }
  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Headers): void {
    this.ex.onResponseEnd(this, trailers);
  }
  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.ex.onResponseError(this, err);
  }
}

export class Exchange implements RequestView, OpContext, HashInput {
  readonly ctx: ProxyContext;
  readonly state: ProxyState;
  readonly conn: ConnInfo;
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  readonly reqHeaders: Headers;
  readonly startTime = Date.now();
  readonly startPerf = performance.now();
  // RequestView
  path = '/';
  query = '';
  // OpContext
  clientAddress: string;
  clientPort: number;
  namespace = '';
  service = '';
  servicePort = 0;

  authority = '';
  host = '';
  requestId = '';
  xff = '';
  route: CompiledRoute | undefined;
  backend: CompiledBackend | undefined;
  cluster: ClusterRuntime | undefined;
  attempt: Attempt | undefined;
  attempts = 0;
  done = false;
  status = 0;
  flags = '-';
  bytesSent = 0;
  /** Request body bytes sent upstream by the try that answered. */
  bytesReceived = 0;
  upstreamHost = '-';
  upstreamHeaders: string[] = [];
  upstreamPath = '/';
  /** The request body is streamed straight through (so it cannot be replayed). */
  hasBody = false;
  /** A small body read in full so retries can resend it. */
  bodyBuffer: Buffer | undefined;
  /** The real request's half of a body shared with a mirror. */
  bodyStream: PassThrough | undefined;
  affinity: string | undefined;
  setAffinity = false;
  private timer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private retry: RetryPolicyConfig | undefined;

  constructor(ctx: ProxyContext, state: ProxyState, conn: ConnInfo, req: DownstreamRequest, res: DownstreamResponse) {
    this.ctx = ctx;
    this.state = state;
    this.conn = conn;
    this.req = req;
    this.res = res;
    this.reqHeaders = req.headers as Headers;
    this.clientAddress = conn.clientAddress;
    this.clientPort = conn.clientPort;
  }

  header(name: string): string | undefined {
    const v = this.reqHeaders[name];
    if (v === undefined) {
      // Host and :authority are one field in HTTP/1.1 and HTTP/2.
      return (name === 'host' || name === ':authority') && this.authority !== '' ? this.authority : undefined;
    }
    if (typeof v === 'string') return v;
    return v.join(',');
  }

  run(): void {
    const { ctx, req, conn } = this;
    ctx.stats.requests++;
    ctx.stats.activeRequests++;
    const h2 = req.httpVersionMajor === 2;
    const authority = (h2 ? (this.reqHeaders[':authority'] as string | undefined) : undefined) ?? (this.reqHeaders.host as string | undefined) ?? '';
    this.authority = authority;
    let url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* / */) {
      // absolute-form (RFC 9112 3.2.2): use its path; the Host header still routes.
      const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(url);
      if (!m) return this.local(400, '', 'DPE');
      url = m[1] || '/';
      if (url.charCodeAt(0) !== 47) url = '/' + url;
    }
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    this.query = q < 0 ? '' : url.slice(q + 1);
    const hash = path.indexOf('#');
    if (hash >= 0) path = path.slice(0, hash);
    this.path = normalizePath(path);
    this.host = normalizeHost(authority);
    this.requestId = this.header('x-request-id') || randomUUID();

    const tables = this.state.tables;
    let vhost: CompiledVhost | undefined;
    if (conn.tls !== undefined) {
      vhost = tables.https.lookup(this.host);
      if (vhost === undefined) return this.local(404, '', 'NR');
      if (!hostFitsTls(vhost, conn.tls)) {
        ctx.stats.misdirected++;
        return this.local(421, 'misdirected request', 'NR');
      }
    } else {
      vhost = tables.http.lookup(this.host);
      if (vhost === undefined) return this.local(404, '', 'NR');
    }
    const route = matchRoute(vhost, this);
    if (route === undefined) return this.local(404, '', 'NR');
    this.route = route;
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
  local(status: number, body: string, flags: string, headers?: Headers, applyRouteOps = false): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.status = status;
    this.flags = flags;
    if (flags === 'NR') this.ctx.stats.noRoute++;
    let h = headers;
    if (applyRouteOps && this.route && !this.route.responseOps.empty) {
      h = { ...(headers ?? {}) };
      applyToObject(h, this.route.responseOps, this);
    }
    try {
      const ct = this.reqHeaders['content-type'];
      if (status >= 400 && typeof ct === 'string' && ct.startsWith('application/grpc')) sendGrpcLocal(this.res, status, body);
      else this.bytesSent = sendLocal(this.res, status, body, h);
    } catch {
      this.res.destroy();
    }
    this.finish();
  }

  // ---- upstream ----

  private forward(): void {
    const route = this.route!;
    const backend = pickBackend(route.backends, route.totalWeight);
    if (backend === undefined || backend.cluster === undefined) {
      this.ctx.stats.upstreamNoHealthy++;
      return this.local(503, BODY_NO_HEALTHY, 'UH');
    }
    this.backend = backend;
    const cluster = backend.cluster;
    this.cluster = cluster;
    const def = cluster.def;
    this.namespace = def.namespace;
    this.service = def.service;
    this.servicePort = def.servicePort;
    const r = route.route;
    this.retry = r.retry;

    const req = this.req;
    const h = this.reqHeaders;
    const h2 = req.httpVersionMajor === 2;
    this.hasBody = h2
      ? !(req as Http2ServerRequest).stream.endAfterHeaders
      : h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');

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
    if (typeof h.te === 'string' && h.te.toLowerCase().includes('trailers')) list.push('te', 'trailers');
    list.push('host', this.authority);
    const prior = h['x-forwarded-for'];
    const priorXff = prior === undefined ? '' : typeof prior === 'string' ? prior : prior.join(', ');
    this.xff = priorXff ? `${priorXff}, ${this.clientAddress}` : this.clientAddress;
    list.push(
      'x-forwarded-for',
      this.xff,
      'x-forwarded-proto',
      this.conn.https ? 'https' : 'http',
      'x-envoy-external-address',
      this.clientAddress,
      'x-request-id',
      this.requestId,
    );
    // Service-level policies first, so the route-level ones win on conflict.
    list = applyToList(list, backend.requestOps, this);
    list = applyToList(list, route.requestOps, this);
    const host = rewrittenHost(route, backend, (n) => this.header(n));
    if (host) list = replaceHeader(list, 'host', host);
    this.upstreamHeaders = list;
    let upath = this.path;
    if (r.prefixRewrite !== undefined && route.prefix !== undefined && upath.startsWith(route.prefix)) {
      upath = r.prefixRewrite + upath.slice(route.prefix.length);
      if (upath === '') upath = '/';
    }
    this.upstreamPath = this.query ? `${upath}?${this.query}` : upath;
    if (cluster.cookieAffinity) {
      this.affinity = affinityCookie(this.header('cookie'));
      if (this.affinity === undefined) {
        this.affinity = randomUUID().replace(/-/g, '').slice(0, 16);
        this.setAffinity = true;
      }
    }

    const res = this.res;
    res.on('close', () => {
      if (!this.done) {
        this.flags = 'DC';
        this.status = this.status || 0;
        this.abortAttempt(new DownstreamGone());
        this.done = true;
        this.clearTimers();
        this.finish();
      }
    });

    const responseMs = r.timeouts.responseMs;
    if (responseMs !== null && responseMs > 0) {
      this.timer = setTimeout(() => this.onTimeout(new TimeoutSignal(false)), responseMs);
    }
    if (r.timeouts.idleMs !== null && r.timeouts.idleMs > 0) {
      const idle = r.timeouts.idleMs;
      this.idleTimer = setTimeout(() => this.onTimeout(new IdleSignal()), idle);
    }
    if (this.retry !== undefined && this.hasBody) {
      const cl = Number(h['content-length']);
      if (cl > 0 && cl <= RETRY_BUFFER_LIMIT) return this.bufferBody(route.mirror);
    }
    if (route.mirror !== undefined) this.mirror(route.mirror.cluster, route.mirror.percent);
    this.startAttempt();
  }

  /** Reads a small body in full (as Envoy buffers for retries), then sends. */
  private bufferBody(mirror: CompiledRoute['mirror']): void {
    const chunks: Buffer[] = [];
    const req = this.req;
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      if (this.done) return;
      this.bodyBuffer = Buffer.concat(chunks);
      this.hasBody = false;
      if (mirror !== undefined) this.mirror(mirror.cluster, mirror.percent);
      this.startAttempt();
    });
    req.once('error', () => {
      if (!this.done) this.local(400, '', 'DPE');
    });
  }

  private startAttempt(): void {
    const cluster = this.cluster!;
    const ep = cluster.pick(this, this.affinity);
    if (ep === undefined) {
      this.ctx.stats.upstreamNoHealthy++;
      return this.local(503, BODY_NO_HEALTHY, 'UH');
    }
    if (ep.active >= this.ctx.maxRequestsPerEndpoint) {
      this.ctx.stats.upstreamOverflow++;
      return this.local(503, BODY_OVERFLOW, 'UO');
    }
    this.attempts++;
    this.bytesReceived = 0;
    const a = new Attempt(this, ep);
    this.attempt = a;
    this.upstreamHost = ep.hostPort;
    ep.active++;
    const perTry = this.retry?.perTryTimeoutMs;
    if (perTry) this.tryTimer = setTimeout(() => this.onTimeout(new TimeoutSignal(true)), perTry);
    try {
      ep.pool.dispatch(
        {
          path: this.upstreamPath,
          method: this.req.method as Dispatcher.HttpMethod,
          headers: this.upstreamHeaders,
          body: this.bodyBuffer ?? (this.hasBody ? ((this.bodyStream ?? this.req) as unknown as NodeJS.ReadableStream as never) : null),
        },
        a,
      );
    } catch (err) {
      this.onResponseError(a, err as Error);
    }
  }

  private mirror(cluster: ClusterRuntime | undefined, percent: number): void {
    if (cluster === undefined || Math.random() * 100 >= percent) return;
    const ep = cluster.pick(this, undefined);
    if (ep === undefined) return;
    this.ctx.stats.mirrored++;
    const headers = replaceHeader(this.upstreamHeaders, 'host', `${this.authority.split(':')[0]}-shadow`);
    let body: Buffer | PassThrough | null = this.bodyBuffer ?? null;
    if (body === null && this.hasBody) body = this.teeBody();
    try {
      ep.pool.dispatch({ path: this.upstreamPath, method: this.req.method as Dispatcher.HttpMethod, headers, body }, MIRROR_HANDLER);
    } catch {
      // A mirror never affects the real request.
    }
  }

  /** Splits a streamed body between the real request and its mirror. The
   *  real one sets the pace; a mirror that falls behind is cut off. */
  private teeBody(): PassThrough {
    const req = this.req;
    const primary = new PassThrough();
    const shadow = new PassThrough();
    shadow.on('error', () => {});
    req.on('data', (c: Buffer) => {
      if (!shadow.destroyed) {
        if (shadow.writableLength > MIRROR_BUFFER_LIMIT) shadow.destroy();
        else shadow.write(c);
      }
      if (!primary.write(c)) req.pause();
    });
    primary.on('drain', () => req.resume());
    req.once('end', () => {
      primary.end();
      shadow.end();
    });
    req.once('error', (err: Error) => {
      primary.destroy(err);
      shadow.destroy();
    });
    this.bodyStream = primary;
    return shadow;
  }

  private abortAttempt(reason: Error): void {
    const a = this.attempt;
    if (a === undefined) return;
    this.attempt = undefined;
    a.endpoint.active--;
    if (this.tryTimer) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
    try {
      a.controller?.abort(reason);
    } catch {
      // already finished
    }
  }

  private onTimeout(sig: Error): void {
    if (this.done) return;
    if (sig instanceof TimeoutSignal) {
      this.ctx.stats.upstreamTimeouts++;
      if (sig.perTry && this.canRetry() && retriableFailure(this.retry, 'per-try-timeout')) {
        this.abortAttempt(new RetrySignal());
        return this.scheduleRetry();
      }
      this.abortAttempt(sig);
      if (this.res.headersSent) return this.resetDownstream('UT');
      return this.local(504, BODY_TIMEOUT, 'UT');
    }
    // stream idle
    this.abortAttempt(sig);
    if (this.res.headersSent) return this.resetDownstream('SI');
    return this.local(408, BODY_IDLE, 'SI');
  }

  private canRetry(): boolean {
    const p = this.retry;
    return p !== undefined && !this.hasBody && !this.done && !this.res.headersSent && this.attempts <= p.count;
  }

  private replayable(): boolean {
    const m = this.req.method;
    return !this.hasBody && !this.done && !this.res.headersSent && (m === 'GET' || m === 'HEAD' || m === 'OPTIONS');
  }

  private scheduleRetry(): void {
    this.ctx.stats.retries++;
    const t = setTimeout(() => {
      if (!this.done) this.startAttempt();
    }, backoffMs(this.attempts));
    t.unref();
  }

  onResponseStart(a: Attempt, controller: Dispatcher.DispatchController, status: number, headers: Headers): void {
    if (a !== this.attempt || this.done) {
      controller.abort(new DownstreamGone());
      return;
    }
    if (this.canRetry() && retriableStatus(this.retry, status)) {
      a.discard = true;
      return;
    }
    if (this.tryTimer) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
    a.endpoint.succeeded();
    this.status = status;
    const out = filterResponseHeaders(headers);
    // As Envoy: milliseconds the upstream took to answer.
    out['x-envoy-upstream-service-time'] = String(Math.round(performance.now() - a.started));
    if (this.backend !== undefined) applyToObject(out, this.backend.responseOps, this);
    if (this.route !== undefined) applyToObject(out, this.route.responseOps, this);
    if (this.setAffinity) {
      const cookie = `${AFFINITY_COOKIE}=${this.affinity}; Path=/; HttpOnly`;
      const prev = out['set-cookie'];
      out['set-cookie'] = prev === undefined ? cookie : Array.isArray(prev) ? [...prev, cookie] : [prev, cookie];
    }
    const res = this.res as ServerResponse;
    try {
      res.writeHead(status, out as Record<string, string | string[]>);
    } catch (err) {
      // Headers the downstream protocol cannot carry: answer 502 instead.
      this.abortAttempt(err as Error);
      return this.local(502, 'upstream sent an invalid response header', 'UPE');
    }
    if (this.idleTimer) this.idleTimer.refresh();
  }

  onResponseData(a: Attempt, controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (a !== this.attempt || a.discard || this.done) return;
    this.bytesSent += chunk.length;
    if (this.idleTimer) this.idleTimer.refresh();
    const res = this.res as ServerResponse;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(a: Attempt, trailers?: Headers): void {
    if (a !== this.attempt) return;
    this.attempt = undefined;
    a.endpoint.active--;
    if (this.done) return;
    if (a.discard) {
      if (this.tryTimer) {
        clearTimeout(this.tryTimer);
        this.tryTimer = undefined;
      }
      return this.scheduleRetry();
    }
    this.done = true;
    this.clearTimers();
    // Trailers (gRPC status) reach HTTP/2 and chunked HTTP/1.1 clients.
    if (trailers !== undefined) {
      for (const _ in trailers) {
        try {
          (this.res as ServerResponse).addTrailers(trailers as Record<string, string>);
        } catch {
          // a trailer the downstream cannot carry is dropped
        }
        break;
      }
    }
    this.res.end();
    this.finish();
  }

  onResponseError(a: Attempt, err: Error): void {
    if (a !== this.attempt) return;
    this.attempt = undefined;
    a.endpoint.active--;
    if (this.tryTimer) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
    if (this.done || err instanceof DownstreamGone) return;
    const stats = this.ctx.stats;
    if (err instanceof UpstreamConnectError) {
      if (err.kind === 'tls') {
        stats.upstreamTlsFailures++;
        this.ctx.warnOnce(
          `tls|${this.cluster?.def.name}|${a.endpoint.hostPort}|${err.detail.slice(0, 60)}`,
          { cluster: this.cluster?.def.name, upstream: a.endpoint.hostPort, reason: err.detail },
          'upstream TLS failed; no request sent',
        );
      } else {
        stats.upstreamConnectFailures++;
        const code = (err.cause as { code?: string } | undefined)?.code;
        if (code === 'ECONNREFUSED' || err.kind === 'timeout') a.endpoint.eject(this.cluster!.registry);
      }
      if (this.canRetry() && retriableFailure(this.retry, 'connect-failure')) return this.scheduleRetry();
      const body = err.kind === 'tls' ? tlsFailureBody(err.detail) : err.kind === 'timeout' ? BODY_CONNECT_TIMEOUT : BODY_CONNECT_FAILURE;
      return this.local(503, body, 'UF');
    }
    if (this.res.headersSent || a.gotHeaders) {
      stats.upstreamResets++;
      return this.resetDownstream('UC');
    }
    stats.upstreamResets++;
    const code = (err as { code?: string }).code;
    const refused = code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(err.message);
    if (this.canRetry() && retriableFailure(this.retry, refused ? 'refused-stream' : 'reset')) {
      return this.scheduleRetry();
    }
    // A kept-alive connection the backend closed just as it was reused:
    // resend a bodyless idempotent request once on a fresh connection.
    if (code === 'UND_ERR_SOCKET' && this.attempts === 1 && this.retry === undefined && this.replayable()) {
      return this.scheduleRetry();
    }
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_ABORTED') {
      return this.local(400, '', 'DPE');
    }
    return this.local(503, BODY_RESET, 'UC');
  }

  private resetDownstream(flags: string): void {
    this.done = true;
    this.flags = flags;
    this.clearTimers();
    this.res.destroy();
    this.finish();
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.tryTimer) clearTimeout(this.tryTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.timer = this.tryTimer = this.idleTimer = undefined;
  }

  private finish(): void {
    const stats = this.ctx.stats;
    stats.activeRequests--;
    if (this.status) stats.countStatus(this.status);
    const log = this.ctx.onAccessLog;
    if (log === undefined) return;
    const h = this.reqHeaders;
    try {
      log({
        startTime: new Date(this.startTime).toISOString(),
        method: this.req.method ?? '',
        path: this.req.url ?? '',
        protocol: this.req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/${this.req.httpVersion}`,
        status: this.status,
        responseFlags: this.flags,
        bytesReceived: this.bytesReceived,
        bytesSent: this.bytesSent,
        durationMs: Math.round((performance.now() - this.startPerf) * 1000) / 1000,
        upstreamHost: this.upstreamHost,
        upstreamCluster: this.cluster?.def.name ?? '-',
        xForwardedFor: this.xff || this.clientAddress,
        userAgent: (h['user-agent'] as string | undefined) ?? '-',
        requestId: this.requestId,
        authority: this.authority,
        listener: this.conn.listener,
        downstreamRemoteAddress: this.conn.remote,
      });
    } catch {
      // The access log sink must never break a request.
    }
  }
}

export function replaceHeader(list: string[], name: string, value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2) if (list[i] !== name) out.push(list[i]!, list[i + 1]!);
  out.push(name, value);
  return out;
}

// Mirrored responses are read and dropped.
const MIRROR_HANDLER: Dispatcher.DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};
