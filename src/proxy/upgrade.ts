// WebSocket (HTTP/1.1 Upgrade) through the proxy on routes that enable it:
// route as usual, ask the upstream to upgrade via undici, then splice the
// two sockets. Routes without websockets answer 403, as Envoy does.
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { writeAccessLog } from './access-log.ts';
import { requestConn } from './trusted-client.ts';
import { portState, type ProxyContext } from './context.ts';
import { FAILURES, type AnsweredFailure, type ResponseFlag } from './failure.ts';
import type { OpContext } from './header-ops.ts';
import { normalizeHost } from './host.ts';
import type { RequestView } from './matchers.ts';
import { canonicalPath } from './path-normalize.ts';
import { parseRequestTarget } from './request-target.ts';
import { findVhost, matchRoute, pickBackend } from './route-table.ts';
import { upstreamRequestHead } from './upstream-request.ts';
import { isInternalRequest, requestIdFor } from './request-id.ts';
import { applyClientCertHeader } from './client-certificate.ts';
import { runUpgradeFilters } from './upgrade-filters.ts';

function rawReply(socket: Duplex, status: number, body = '', headers: Record<string, string | string[]> = {}): void {
  const len = Buffer.byteLength(body);
  let extra = '';
  for (const k in headers) for (const v of ([] as string[]).concat(headers[k]!)) extra += `${k}: ${v}\r\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-length: ${len}\r\nconnection: close\r\n${len ? 'content-type: text/plain\r\n' : ''}${extra}\r\n${body}`);
}

function headerBlock(status: number, headers: Record<string, string | string[] | undefined>): string {
  let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) s += `${k}: ${x}\r\n`;
    else s += `${k}: ${v}\r\n`;
  }
  return s + '\r\n';
}

export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const conn = requestConn(req, ctx.numTrustedHops);
  const state = ctx.state;
  ctx.stats.requests++;
  const startTime = Date.now();
  const startPerf = performance.now();
  const log: { status: number; flags: ResponseFlag; upstreamHost: string; cluster: string } = { status: 0, flags: '-', upstreamHost: '-', cluster: '-' };
  const reply = (status: number, body = '', flags: ResponseFlag = '-', headers?: Record<string, string | string[]>): void => {
    log.status = status;
    log.flags = flags;
    rawReply(socket, status, body, headers);
  };
  const fail = (code: AnsweredFailure): void => {
    const f = FAILURES[code];
    reply(f.status, f.body, f.flag);
  };
  socket.once('close', () => {
    if (log.status) ctx.stats.countStatus(log.status);
    if (!ctx.onAccessLog) return;
    writeAccessLog(ctx.onAccessLog, req, conn, {
      startTime,
      startPerf,
      status: log.status,
      flags: log.flags,
      bytesReceived: (socket as Duplex & { bytesRead?: number }).bytesRead ?? 0,
      bytesSent: (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0,
      upstreamHost: log.upstreamHost,
      upstreamCluster: log.cluster,
      xForwardedFor: conn?.clientAddress ?? '-',
      requestId: (req.headers['x-request-id'] as string | undefined) ?? '-',
      authority: req.headers.host ?? '',
    });
  });
  if (!conn) return reply(500);
  const upgradeTo = String(req.headers.upgrade ?? '').toLowerCase();
  const target = parseRequestTarget(req.url ?? '/', true);
  if (!target.ok) return fail('bad-request');
  // An absolute-form target's authority is the host, as for any request
  // (RFC 9112 §3.2.2): it routes the upgrade and replaces Host upstream.
  if (target.authority !== undefined) req.headers.host = target.authority;
  const authority = req.headers.host ?? '';
  const host = normalizeHost(authority);
  // Routed and forwarded canonical, as every request (path-normalize.ts).
  const path = canonicalPath(target.path, ctx.mergeSlashes);
  if (path === undefined) return fail('bad-request');
  const url = target.query === '' ? path : `${path}?${target.query}`;
  const view: RequestView & OpContext = {
    path,
    query: target.query,
    header: (n) => {
      const v = req.headers[n];
      if (v === undefined && n === ':method') return req.method;
      return Array.isArray(v) ? v.join(',') : v;
    },
    clientAddress: conn.clientAddress,
    clientPort: conn.clientPort,
    conn,
    protocol: `HTTP/${req.httpVersion}`,
    upstreamAddress: '',
    flags: '-',
    codeDetails: '',
  };
  const vhost = findVhost(portState(state, conn.table).tables, conn.tls, host);
  if (typeof vhost === 'string') return fail(vhost);
  const route = matchRoute(vhost, view);
  if (!route) return fail('no-route');
  applyClientCertHeader(req.headers, conn);
  const internal = isInternalRequest(req.headers['x-forwarded-for'], conn);
  const requestId = requestIdFor(req.headers['x-request-id'], !internal, ctx.preserveExternalRequestId);
  req.headers['x-request-id'] = requestId;
  // Picked before the filters, which count in the target cluster's scope.
  const picked = route.route.action.kind === 'forward' ? pickBackend(route.backends, route.totalWeight) : undefined;
  const forward = (): void => {
    if (route.route.httpsRedirect && !conn.https) {
      log.status = 301;
      socket.end(`HTTP/1.1 301 Moved Permanently\r\nlocation: https://${host}${url}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      return;
    }
    if (upgradeTo !== 'websocket' || !route.route.websocket || route.route.action.kind !== 'forward') return reply(403);
    const backend = picked;
    const cluster = backend?.cluster;
    const ep = cluster?.pick(view, undefined);
    if (!backend || !cluster || !ep) return fail('no-healthy-upstream');
    log.cluster = cluster.def.name;
    log.upstreamHost = ep.hostPort;
    ctx.stats.websocketUpgrades++;

    const upstreamReq = upstreamRequestHead({
      headers: req.headers,
      authority,
      path: view.path,
      query: view.query,
      https: conn.https,
      xffAddress: conn.connectionAddress,
      requestId,
      internal,
      teTrailers: false,
      route,
      backend,
      ops: view,
    });

    let finished = false;
    socket.once('close', () => {
      if (!finished) controller?.abort(new Error('downstream closed'));
    });
    let controller: Dispatcher.DispatchController | undefined;
    // The circuit breakers: a websocket holds its request and connection
    // for its lifetime; one that finds them full is refused (no waiting).
    const budget = cluster.budget;
    if (budget.requestsFull() || !budget.canSend(ep)) {
      ctx.stats.upstreamOverflow++;
      cluster.counters.rqPendingOverflow++;
      return reply(503, FAILURES.overflow.body, 'UO', { 'x-envoy-overloaded': 'true' });
    }
    ep.active++;
    budget.sent();
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      ep.active--;
      budget.ended();
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
      },
      onRequestUpgrade(_c, status, headers, upstream) {
        finished = true;
        log.status = status;
        socket.write(headerBlock(status, headers as Record<string, string | string[] | undefined>));
        if (head.length) upstream.write(head);
        upstream.on('error', () => socket.destroy());
        upstream.once('close', () => {
          release();
          socket.destroy();
        });
        socket.once('close', () => upstream.destroy());
        upstream.pipe(socket);
        socket.pipe(upstream);
      },
      onResponseStart(_c, status, headers) {
        // The upstream refused the upgrade: relay its answer and close.
        finished = true;
        release();
        log.status = status;
        const h = { ...(headers as Record<string, string | string[] | undefined>) };
        delete h['transfer-encoding'];
        delete h['connection'];
        delete h['keep-alive'];
        h['connection'] = 'close';
        socket.write(headerBlock(status, h));
      },
      onResponseData(_c, chunk) {
        socket.write(chunk);
      },
      onResponseEnd() {
        socket.end();
      },
      onResponseError(_c, err) {
        if (!finished) release();
        finished = true;
        if (socket.writable) fail('connect-failure');
        else socket.destroy();
      },
    };
    try {
      ep.pool.dispatch({ path: upstreamReq.path, method: 'GET', headers: upstreamReq.headers, upgrade: 'websocket', body: null }, handler);
    } catch (err) {
      handler.onResponseError!(undefined as never, err as Error);
    }
  };
  if (route.filters.length === 0) return forward();
  const u = { req, conn, vhost, route, host, authority, path: view.path, query: view.query, requestId, target: picked };
  runUpgradeFilters(u, (answer) => {
    if (answer !== undefined) return reply(answer.status, answer.body ?? '', answer.flag ?? '-', answer.headers);
    view.query = u.query;
    forward();
  });
}
