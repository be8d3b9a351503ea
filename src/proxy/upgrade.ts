// WebSocket (HTTP/1.1 Upgrade) through the proxy on routes that enable it:
// route as usual, ask the upstream to upgrade via undici, then splice the
// two sockets. Routes without websockets answer 403, as Envoy does.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyContext } from './context.ts';
import { connOf, hostFitsTls, replaceHeader } from './exchange.ts';
import { connectionTokens, REQUEST_SKIP } from './hop-by-hop.ts';
import { normalizeHost } from './host.ts';
import { normalizePath, type RequestView } from './matchers.ts';
import { matchRoute, pickBackend, rewrittenHost } from './route-table.ts';
import { applyToList, type OpContext } from './header-ops.ts';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';

function rawReply(socket: Duplex, status: number, body = ''): void {
  const len = Buffer.byteLength(body);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-length: ${len}\r\nconnection: close\r\n${len ? 'content-type: text/plain\r\n' : ''}\r\n${body}`);
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
  const conn = connOf(req);
  const state = ctx.state;
  ctx.stats.requests++;
  const startTime = Date.now();
  const startPerf = performance.now();
  const log = { status: 0, flags: '-', upstreamHost: '-', cluster: '-' };
  const reply = (status: number, body = '', flags = '-'): void => {
    log.status = status;
    log.flags = flags;
    rawReply(socket, status, body);
  };
  socket.once('close', () => {
    if (log.status) ctx.stats.countStatus(log.status);
    if (!ctx.onAccessLog) return;
    try {
      ctx.onAccessLog({
        startTime: new Date(startTime).toISOString(),
        method: req.method ?? 'GET',
        path: req.url ?? '',
        protocol: `HTTP/${req.httpVersion}`,
        status: log.status,
        responseFlags: log.flags,
        bytesReceived: (socket as Duplex & { bytesRead?: number }).bytesRead ?? 0,
        bytesSent: (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0,
        durationMs: Math.round((performance.now() - startPerf) * 1000) / 1000,
        upstreamHost: log.upstreamHost,
        upstreamCluster: log.cluster,
        xForwardedFor: conn?.clientAddress ?? '-',
        userAgent: (req.headers['user-agent'] as string | undefined) ?? '-',
        requestId: (req.headers['x-request-id'] as string | undefined) ?? '-',
        authority: req.headers.host ?? '',
        listener: conn?.listener ?? '-',
        downstreamRemoteAddress: conn?.remote ?? '-',
      });
    } catch {
      // The access log sink must never break a connection.
    }
  });
  if (!conn) return reply(500);
  const upgradeTo = String(req.headers.upgrade ?? '').toLowerCase();
  const authority = req.headers.host ?? '';
  const host = normalizeHost(authority);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const view: RequestView & OpContext = {
    path: normalizePath(q < 0 ? url : url.slice(0, q)),
    query: q < 0 ? '' : url.slice(q + 1),
    header: (n) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v.join(',') : v;
    },
    clientAddress: conn.clientAddress,
    clientPort: conn.clientPort,
    namespace: '',
    service: '',
    servicePort: 0,
  };
  const table = conn.tls ? state.tables.https : state.tables.http;
  const vhost = table.lookup(host);
  if (!vhost) return reply(404, '', 'NR');
  if (conn.tls && !hostFitsTls(vhost, conn.tls)) return reply(421, 'misdirected request', 'NR');
  const route = matchRoute(vhost, view);
  if (!route) return reply(404, '', 'NR');
  if (route.route.httpsRedirect && !conn.https) {
    log.status = 301;
    socket.end(`HTTP/1.1 301 Moved Permanently\r\nlocation: https://${host}${url}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    return;
  }
  if (upgradeTo !== 'websocket' || !route.route.websocket || route.route.action.kind !== 'forward') return reply(403);
  const backend = pickBackend(route.backends, route.totalWeight);
  const cluster = backend?.cluster;
  const ep = cluster?.pick(view, undefined);
  if (!backend || !cluster || !ep) return reply(503, 'no healthy upstream', 'UH');
  log.cluster = cluster.def.name;
  log.upstreamHost = ep.hostPort;
  view.namespace = cluster.def.namespace;
  view.service = cluster.def.service;
  view.servicePort = cluster.def.servicePort;
  ctx.stats.websocketUpgrades++;

  let list: string[] = [];
  const listed = connectionTokens(req.headers.connection);
  for (const name in req.headers) {
    if (REQUEST_SKIP.has(name) || listed?.has(name) || name.startsWith('x-envoy-')) continue;
    const v = req.headers[name];
    if (typeof v === 'string') list.push(name, v);
    else if (v) for (const x of v) list.push(name, x);
  }
  const prior = req.headers['x-forwarded-for'];
  const xff = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${conn.clientAddress}` : conn.clientAddress;
  list.push(
    'host',
    authority,
    'x-forwarded-for',
    xff,
    'x-forwarded-proto',
    conn.https ? 'https' : 'http',
    'x-envoy-external-address',
    conn.clientAddress,
    'x-request-id',
    (req.headers['x-request-id'] as string | undefined) || randomUUID(),
  );
  list = applyToList(list, backend.requestOps, view);
  list = applyToList(list, route.requestOps, view);
  const rewritten = rewrittenHost(route, backend, view.header);
  if (rewritten) list = replaceHeader(list, 'host', rewritten);
  let path = view.path;
  const r = route.route;
  if (r.prefixRewrite !== undefined && route.prefix !== undefined && path.startsWith(route.prefix)) {
    path = r.prefixRewrite + path.slice(route.prefix.length) || '/';
  }
  if (view.query) path += '?' + view.query;

  let finished = false;
  socket.once('close', () => {
    if (!finished) controller?.abort(new Error('downstream closed'));
  });
  let controller: Dispatcher.DispatchController | undefined;
  ep.active++;
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
        ep.active--;
        socket.destroy();
      });
      socket.once('close', () => upstream.destroy());
      upstream.pipe(socket);
      socket.pipe(upstream);
    },
    onResponseStart(_c, status, headers) {
      // The upstream refused the upgrade: relay its answer and close.
      finished = true;
      ep.active--;
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
      if (!finished) ep.active--;
      finished = true;
      if (socket.writable) reply(503, `upstream connect error or disconnect/reset before headers. reset reason: connection failure`, 'UF');
      else socket.destroy();
    },
  };
  try {
    ep.pool.dispatch({ path, method: 'GET', headers: list, upgrade: 'websocket', body: null }, handler);
  } catch (err) {
    handler.onResponseError!(undefined as never, err as Error);
  }
}
