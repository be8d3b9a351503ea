// One listening socket. Every connection may first owe a PROXY header; on
// TLS listeners the ClientHello is then inspected for SNI: passthrough
// virtual hosts are piped raw, others are handed to the tls.Server holding
// that virtual host's settings, and the decrypted connection goes to the
// HTTP/1.1 server or the HTTP/2 server by ALPN.
import http from 'node:http';
import http2 from 'node:http2';
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { readProxyHeader, type ProxyHeader } from '../proxyprotocol/index.ts';
import { peekClientHello } from '../tls/index.ts';
import { parseClientHello } from './client-hello.ts';
import { PrefixedStream } from './prefixed-stream.ts';
import { hostPort, kConn, type ConnInfo } from './conn-info.ts';
import { portState, type ProxyContext } from './context.ts';
import { admitClientCertificate } from './client-certificate.ts';
import { handleRequest } from './exchange.ts';
import { H1Connection, type H1Request } from './h1-connection.ts';
import type { H1Response } from './h1-response.ts';
import { Http1Pipeline } from './http1-pipeline.ts';
import { asksToClose, checkHttp1Request, type Http1Message } from './http1-request.ts';
import { sendLocal } from './local-reply.ts';
import { countStreams, drainSession, shutdownSession } from './http2-drain.ts';
import { delayHttp1Close, delayHttp2Close, inDelayedClose } from './delayed-close.ts';
import { guardHttp2 } from './http2-guard.ts';
import { http2ServerOptions } from './http2-limits.ts';
import { forwardTcp } from './tcp-forward.ts';
import type { TlsChoice } from './tls-choice.ts';
import type { DownstreamSettings, ProxyListenerSpec } from './types.ts';
import { handleUpgrade } from './upgrade.ts';

export interface ListenerOptions {
  proxyProtocolTimeoutMs: number;
  tlsInspectorTimeoutMs: number;
  tlsHandshakeTimeoutMs: number;
  maxHeaderSize: number;
  headersTimeoutMs: number;
  downstream: DownstreamSettings;
}

/** `Upgrade: h2c` (alone): HTTP/2 over cleartext by upgrade, which the
 *  proxy does not do (HTTP/2 with prior knowledge it does). */
function isH2cUpgrade(upgrade: string | undefined): boolean {
  return upgrade !== undefined && upgrade.trim().toLowerCase() === 'h2c';
}

/** Requests served on an HTTP/1 connection so far (listener.max-requests-per-connection). */
const kRequests = Symbol('isobar.requests');
/** Handed to node:http with bytes that came pipelined behind a request
 *  isobar's server answered: true, then the first request node:http reads
 *  of them. Until that one has arrived whole, a parse error belongs to
 *  bytes that were behind a whole request. */
const kPipelined = Symbol('isobar.h1.pipelined');

type Sock = net.Socket & { [kConn]?: ConnInfo; [kUnix]?: true; [kRequests]?: number; [kPipelined]?: true | http.IncomingMessage };

type Http1Response = http.ServerResponse | H1Response;

/** The JS stream an HTTP/2 session reads and writes through (h2c's
 *  PrefixedStream), where its shutdown notice can be written. */
const kWire = Symbol('isobar.http2.wire');

type H2Session = http2.ServerHttp2Session & { [kWire]?: PrefixedStream };

/** Marks a connection accepted on the listener's Unix domain socket. */
const kUnix = Symbol('isobar.unix');
/** The peer of a Unix socket connection: the balancer on this host, as the loopback hop shows it. */
const UNIX_PEER = '127.0.0.1';

const noop = (): void => {};
/** The process's connection counter (CONNECTION_ID in the access log). */
let connectionIds = 0;
/** Downstream idle connection timeout (HTTP/1.1 keep-alive and HTTP/2), Contour's default. */
const IDLE_CONNECTION_MS = 60_000;
/** node:http's whole-request budget when no request timeout is configured. */
const REQUEST_BUDGET_MS = 300_000;
/** Envoy's delayed_close_timeout default. */
const DELAYED_CLOSE_MS = 1000;
/** The HTTP/2 connection preface a prior-knowledge client starts with. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export class Listener {
  readonly spec: ProxyListenerSpec;
  private readonly ctx: ProxyContext;
  private readonly opts: ListenerOptions;
  /** Listens, parses HTTP/1.1; its own 'connection' handling is wrapped. */
  readonly server: http.Server;
  private readonly h1Connection: (socket: net.Socket) => void;
  private readonly h2: http2.Http2SecureServer | http2.Http2Server;
  private readonly tlsServers = new Map<string, tls.Server>();
  readonly sockets = new Set<net.Socket>();
  /** Accepted connections not yet handed to HTTP/1, HTTP/2 or TCP forwarding. */
  private readonly pending = new Set<net.Socket>();
  private readonly h2Sessions = new Set<H2Session>();
  /** HTTP/1 connections isobar's own server is serving (not handed to node:http). */
  private readonly h1Connections = new Set<H1Connection>();
  private readonly idleMs: number;
  /** connection-shutdown-grace-period: undefined sends no shutdown notice. */
  private readonly h2ShutdownGraceMs: number | undefined;
  private readonly delayedCloseMs: number;
  private closing = false;
  /** Draining, and connections still owing a request may no longer send one. */
  private graceOver = false;
  private grace: NodeJS.Timeout | undefined;
  /** performance.now() when the drain's grace ends. */
  private graceEndsAt = 0;
  private sweep: NodeJS.Timeout | undefined;
  /** Accepts on spec.unixPath, when set. */
  private unixServer: net.Server | undefined;
  /** Connections accepted (or adopted) and still open: the listener connection limit counts these. */
  private open = 0;
  /** Envoy's listener and connection manager counters, read at scrape time. */
  cxTotal = 0;
  cxOverflow = 0;
  cxMaxRequestsReached = 0;
  cxMaxDurationReached = 0;

  constructor(spec: ProxyListenerSpec, ctx: ProxyContext, opts: ListenerOptions) {
    this.spec = spec;
    this.ctx = ctx;
    this.opts = opts;
    const d = opts.downstream;
    this.h2ShutdownGraceMs = d.http2ShutdownGraceMs;
    this.delayedCloseMs = d.delayedCloseMs ?? DELAYED_CLOSE_MS;
    const idleMs = d.connectionIdleTimeoutMs ?? IDLE_CONNECTION_MS;
    this.idleMs = idleMs;
    // node:http wants headers no later than the whole request.
    const requestMs = d.requestTimeoutMs ?? Math.max(REQUEST_BUDGET_MS, opts.headersTimeoutMs);
    const headersMs = requestMs > 0 ? Math.min(opts.headersTimeoutMs, requestMs) : opts.headersTimeoutMs;
    this.server = http.createServer(
      {
        maxHeaderSize: opts.maxHeaderSize,
        headersTimeout: headersMs,
        requestTimeout: requestMs,
        // How often slow-header and request deadlines are checked.
        connectionsCheckingInterval: Math.min(1000, headersMs),
        keepAliveTimeout: idleMs,
        // checkHttp1Request() does, in the request's turn: node:http would
        // answer a request without Host ahead of the pipeline before it.
        requireHostHeader: false,
        // Envoy's per_connection_buffer_limit_bytes: where backpressure starts.
        highWaterMark: d.perConnectionBufferLimitBytes ?? 64 * 1024,
        // An h2c upgrade is served as the HTTP/1.1 request it also is, its
        // upgrade headers dropped, as Envoy's HTTP/1 codec does (RFC 9110
        // §7.8 lets a server ignore Upgrade); every other upgrade is one.
        shouldUpgradeCallback: (req: http.IncomingMessage) => !isH2cUpgrade(req.headers.upgrade),
      },
      (req, res) => this.onRequest(req, res),
    );
    const original = this.server.listeners('connection');
    this.server.removeAllListeners('connection');
    const h1 = original[0] as (socket: net.Socket) => void;
    this.h1Connection = (socket) => h1.call(this.server, socket);
    this.server.on('connection', (socket: net.Socket) => this.onConnection(socket));
    this.server.on('clientError', (err: Error & { code?: string }, socket: net.Socket) => this.onClientError(err, socket));
    // node:http hands over an upgrade (or CONNECT) as soon as it is parsed,
    // even behind a pipelined request still being answered: it waits its turn.
    this.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      Http1Pipeline.of(socket).afterResponses(() => this.onUpgrade(req, socket, head));
    });
    // CONNECT is not proxied (as Envoy without an explicit CONNECT route).
    this.server.on('connect', (_req: http.IncomingMessage, socket: net.Socket) => {
      Http1Pipeline.of(socket).afterResponses(() => socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    });
    // HTTP/2 over TLS (ALPN h2) on TLS listeners; HTTP/2 with prior
    // knowledge (h2c) on plain ones. Neither server listens itself.
    const h2Options = http2ServerOptions(opts.maxHeaderSize, d.http2MaxConcurrentStreams);
    this.h2 = spec.tls ? http2.createSecureServer({ ...h2Options, allowHTTP1: false }) : http2.createServer(h2Options);
    guardHttp2(this.h2, this.ctx);
    const h2RequestMs = d.requestTimeoutMs !== undefined && d.requestTimeoutMs > 0 ? d.requestTimeoutMs : undefined;
    this.h2.on('request', (req, res) => handleRequest(this.ctx, req, res, h2RequestMs));
    this.h2.on('session', (session: H2Session) => {
      // h2c sessions sit on a PrefixedStream, wrapped again by node:http2
      // (TLS ones too when they get a shutdown notice).
      const sock = session.socket as unknown as Sock & { stream?: Sock };
      const wire = sock.stream;
      const conn = sock[kConn] ?? wire?.[kConn];
      (session as unknown as { [kConn]?: ConnInfo })[kConn] = conn;
      if (wire instanceof PrefixedStream) session[kWire] = wire;
      this.h2Sessions.add(session);
      session.once('close', () => this.h2Sessions.delete(session));
      session.on('error', noop);
      // Idle HTTP/2 connections are closed like idle HTTP/1.1 keep-alive
      // ones (drained, as Envoy does, when there is a grace period).
      if (idleMs > 0) session.setTimeout(idleMs, () => this.drainH2(session, undefined));
      countStreams(session);
      this.limitSession(session);
      // After node:http2 has written its SETTINGS, which must come first.
      if (this.closing) setImmediate(() => this.drainH2(session, this.graceEndsAt - performance.now()));
    });
    this.h2.on('sessionError', noop);
  }

  async listen(): Promise<void> {
    // node:http starts tracking its connections (header and request
    // deadlines, closing idle ones) when its server listens: one fed only
    // by hand-offs or its Unix socket never does, so it is told.
    if (this.spec.handedOff || this.spec.socketOnly) this.server.emit('listening');
    else await this.listenTcp();
    if (this.spec.unixPath !== undefined) await this.listenUnix(this.spec.unixPath);
  }

  /** Where connections reach this listener: its port, or the primary's for a handed-off one. */
  boundAddress(): { address: string; port: number } | undefined {
    if (this.spec.handedOff) return this.closing ? undefined : { address: this.spec.host, port: this.spec.port };
    return this.server.listening ? this.address() : undefined;
  }

  /** Connections accepted (or adopted) and still open. */
  get openConnections(): number {
    return this.open;
  }

  private listenTcp(): Promise<void> {
    const { host, port, reusePort } = this.spec;
    return new Promise((resolve, reject) => {
      const onError = (err: Error & { code?: string }): void => {
        this.server.off('listening', onListening);
        const what = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        reject(new Error(`listener ${this.spec.name}: cannot listen on ${hostPort(host, port)}: ${what}`, { cause: err }));
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.ctx.logger?.error({ err, listener: this.spec.name }, 'listener error'));
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host, port, ...(reusePort ? { reusePort: true } : {}) });
    });
  }

  /** The Unix domain socket beside the port. A file left by a process
   *  that died is removed first: the path is this listener's alone. */
  private listenUnix(file: string): Promise<void> {
    try {
      unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`listener ${this.spec.name}: cannot remove stale socket ${file}: ${(err as Error).message}`, { cause: err });
    }
    const server = net.createServer({ allowHalfOpen: true }, (socket: Sock) => {
      socket[kUnix] = true;
      // Counted and served as a connection accepted on the port.
      this.server.emit('connection', socket);
    });
    this.unixServer = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        this.unixServer = undefined;
        reject(new Error(`listener ${this.spec.name}: cannot listen on ${file}: ${err.message}`, { cause: err }));
      });
      server.listen({ path: file }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.ctx.logger?.error({ err, listener: this.spec.name }, 'listener error'));
        resolve();
      });
    });
  }

  address(): { address: string; port: number } {
    const a = this.server.address() as net.AddressInfo | null;
    if (!a) throw new Error(`listener ${this.spec.name} is not listening`);
    return { address: a.address, port: a.port };
  }

  /** Serves a connection accepted elsewhere (the load balancer's decrypted
   *  client stream in this process, or one the primary handed over)
   *  exactly like one accepted here; `unix`: accepted on a Unix socket. */
  adopt(socket: net.Socket, unix = false): void {
    if (unix) (socket as Sock)[kUnix] = true;
    this.onConnection(socket);
  }

  /** Drops per-virtual-host TLS servers no longer in the config. */
  prune(keys: Set<string>): void {
    for (const k of this.tlsServers.keys()) if (!keys.has(k)) this.tlsServers.delete(k);
  }

  /** Drains an HTTP/2 session. `graceLeftMs`: what is left of the serve
   *  drain's grace, which bounds the time it may still take streams;
   *  undefined outside a serve drain (idle, max-connection-duration). */
  private drainH2(session: H2Session, graceLeftMs: number | undefined): void {
    const grace = this.h2ShutdownGraceMs;
    if (grace === undefined) drainSession(session, graceLeftMs ?? 0);
    else shutdownSession(session, session[kWire], Math.min(grace, graceLeftMs ?? grace));
  }

  /** Every HTTP/1.x request read (by node:http or isobar's server), served in its connection's order. */
  private onRequest(req: http.IncomingMessage | H1Request, res: Http1Response): void {
    const pipeline = Http1Pipeline.of(req.socket);
    const sock = req.socket as Sock;
    if (sock[kPipelined] === true) sock[kPipelined] = req as http.IncomingMessage;
    // Draining: what the connection still sends is answered, with Connection: close.
    if (this.closing) pipeline.end();
    // node:http's parser reads nothing after a request that asked to
    // upgrade, even one served as HTTP/1.1 (h2c): it is the connection's last.
    if (asksToClose(req) || isH2cUpgrade(req.headers.upgrade)) res.shouldKeepAlive = false;
    const max = this.opts.downstream.maxRequestsPerConnection;
    if (max !== undefined) {
      const socket = req.socket as Sock;
      const n = (socket[kRequests] ?? 0) + 1;
      socket[kRequests] = n;
      // The last request's response says Connection: close; what the
      // client pipelined after it is never served.
      if (n === max) {
        this.cxMaxRequestsReached++;
        res.shouldKeepAlive = false;
      }
    }
    pipeline.push(req, res, () => this.serveHttp1(req, res));
  }

  private serveHttp1(req: http.IncomingMessage | H1Request, res: Http1Response): void {
    let refused = false;
    try {
      const refusal = checkHttp1Request(req);
      if (refusal !== undefined) {
        refused = true;
        this.refused(refusal.reason, req);
        res.shouldKeepAlive = false;
        sendLocal(res, refusal.status, '');
      }
    } catch (err) {
      // A bug costs this request only, never the process.
      this.ctx.warnOnce(`bug|http1|${(err as Error).message}`, { err }, 'request handling failed');
      if (refused || res.headersSent) res.destroy();
      else sendLocal(res, 500, '');
      return;
    }
    if (!refused) handleRequest(this.ctx, req, res);
  }

  private onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    try {
      const refusal = checkHttp1Request(req);
      if (refusal !== undefined) {
        this.refused(refusal.reason, req);
        socket.end(`HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status]}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
        return;
      }
      handleUpgrade(this.ctx, req, socket, head);
    } catch (err) {
      this.ctx.warnOnce(`bug|upgrade|${(err as Error).message}`, { err }, 'upgrade handling failed');
      socket.destroy();
    }
  }

  private refused(reason: string, req: Http1Message): void {
    this.ctx.stats.badRequests++;
    const conn = (req.socket as Sock)[kConn];
    this.ctx.warnOnce(`h1|${this.spec.name}|${reason}`, { listener: this.spec.name, remote: conn?.remote, reason }, 'request refused; connection closed');
  }

  private onConnection(socket: Sock): void {
    if (this.graceOver) {
      socket.destroy();
      return;
    }
    const limit = this.opts.downstream.maxConnectionsPerListener;
    if (limit !== undefined && this.open >= limit) {
      // Envoy's listener connection limit: closed at accept, counted in
      // downstream_cx_overflow, never read.
      this.cxOverflow++;
      socket.destroy();
      return;
    }
    this.open++;
    this.cxTotal++;
    socket.once('close', () => this.open--);
    this.ctx.stats.downstreamConnections++;
    this.sockets.add(socket);
    this.pending.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.pending.delete(socket);
    });
    // Errors before HTTP takes over must not escape as 'error' events.
    socket.on('error', noop);
    if (!this.spec.proxyProtocol) {
      this.afterProxy(socket, undefined, undefined);
      return;
    }
    readProxyHeader(socket, { timeoutMs: this.opts.proxyProtocolTimeoutMs }).then(
      ({ header, rest }) => this.afterProxy(socket, header, rest),
      (err: Error) => {
        this.ctx.stats.proxyProtocolRejected++;
        this.ctx.warnOnce(`pp|${this.spec.name}|${(err as { code?: string }).code}`, { listener: this.spec.name, remote: socket.remoteAddress, reason: err.message }, 'PROXY header rejected; connection closed');
        socket.destroy();
      },
    );
  }

  private afterProxy(socket: Sock, header: ProxyHeader | undefined, rest: Buffer | undefined): void {
    const unix = socket[kUnix] === true;
    let address = (unix ? UNIX_PEER : socket.remoteAddress) ?? '';
    let port = socket.remotePort ?? 0;
    if (address.startsWith('::ffff:') && address.includes('.')) address = address.slice(7);
    const peerAddress = address;
    let localAddress = (unix ? UNIX_PEER : socket.localAddress) ?? '';
    let localPort = socket.localPort ?? 0;
    if (localAddress.startsWith('::ffff:') && localAddress.includes('.')) localAddress = localAddress.slice(7);
    let https = this.spec.tls;
    if (header !== undefined) {
      if (header.command === 'LOCAL') this.ctx.stats.proxyProtocolLocal++;
      // Only an IP source is a client address: an AF_UNIX header's socket
      // paths are text the sender chose (one reading "10.1.2.3" would pass
      // an IP filter), so it keeps the connection's own, as UNSPEC does.
      else if (header.source && header.transport !== 'UNIX') {
        address = header.source.address;
        port = header.source.port;
        if (header.destination) {
          localAddress = header.destination.address;
          localPort = header.destination.port;
        }
      }
      if (header.ssl?.connectedWithSsl) https = true;
    }
    if (this.spec.tcp) {
      this.forwardPort(socket, rest, address);
      return;
    }
    const conn: ConnInfo = {
      listener: this.spec.name,
      peerAddress,
      peerPort: socket.remotePort ?? 0,
      id: ++connectionIds,
      clientAddress: address,
      clientPort: port,
      https,
      remote: hostPort(address, port),
      localAddress,
      localPort,
    };
    if (this.spec.table !== undefined) conn.table = this.spec.table;
    if (!this.spec.tls) {
      socket[kConn] = conn;
      this.sniffPlain(socket, rest ?? Buffer.alloc(0));
      return;
    }
    this.inspect(socket, rest ?? Buffer.alloc(0), conn);
  }

  /** A TCP port listener: the connection, as it comes, to its TCPRoute's
   *  backends; closed when it has none (Envoy's listener without a filter chain). */
  private forwardPort(socket: Sock, rest: Buffer | undefined, clientAddress: string): void {
    const tcp = portState(this.ctx.state, this.spec.table).tcp;
    this.pending.delete(socket);
    if (tcp === undefined) {
      socket.destroy();
      return;
    }
    if (rest !== undefined && rest.length > 0) socket.unshift(rest);
    this.ctx.stats.tcpProxyConnections++;
    forwardTcp(this.ctx, socket, tcp, clientAddress);
  }

  /** Plain listeners: HTTP/1.x, or HTTP/2 when the client opens with the h2 preface. */
  private sniffPlain(socket: Sock, initial: Buffer): void {
    let buf = initial;
    let timer: NodeJS.Timeout | undefined;
    const decide = (): boolean => {
      const n = Math.min(buf.length, H2_PREFACE.length);
      if (n === 0) return false;
      const maybeH2 = buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (maybeH2 && n < H2_PREFACE.length) return false;
      if (timer) clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      if (maybeH2) {
        delayHttp2Close(socket, this.delayedCloseMs);
        const stream = new PrefixedStream(socket, buf) as PrefixedStream & { [kConn]?: ConnInfo };
        stream[kConn] = socket[kConn];
        this.pending.delete(socket);
        this.h2.emit('connection', stream);
      } else {
        this.pending.delete(socket);
        this.httpConnection(socket, buf);
      }
      socket.resume();
      return true;
    };
    const onData = (d: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      decide();
    };
    if (decide()) return;
    // A connection that never says anything is closed like slow headers.
    timer = setTimeout(() => socket.destroy(), this.opts.headersTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    // A peer that closes before sending anything (a load balancer's TCP
    // health check after its PROXY LOCAL header) is done: do not leave the
    // socket half-open until the timer, it would hold up a drain.
    const onEnd = (): void => {
      if (buf.length === 0) socket.destroy();
    };
    socket.once('end', onEnd);
    socket.on('data', onData);
    socket.resume();
  }

  /** Reads the ClientHello (without consuming it) and picks what to do. */
  private inspect(socket: Sock, initial: Buffer, conn: ConnInfo): void {
    const reject = (reason: string): void => {
      this.ctx.stats.tlsInspectorRejected++;
      this.ctx.warnOnce(`tlsi|${this.spec.name}|${reason}`, { listener: this.spec.name, remote: conn.remote, reason }, 'TLS connection closed before handshake');
      socket.destroy();
    };
    void peekClientHello(socket, parseClientHello, { timeoutMs: this.opts.tlsInspectorTimeoutMs, initial }).then((peeked) => {
      // Closed before a whole ClientHello (a TCP health check): done.
      if (peeked.kind === 'closed') return socket.destroy();
      if (peeked.kind === 'timeout') return reject('no ClientHello in time');
      const r = peeked.result;
      if (r.kind === 'invalid') return reject(r.reason);
      socket.pause();
      this.dispatchTls(socket, r.serverName, conn);
    });
  }

  /** The ClientHello is back on the socket: the TLS server or the
   *  passthrough pipe reads it first. */
  private dispatchTls(socket: Sock, sni: string | undefined, conn: ConnInfo): void {
    const table = portState(this.ctx.state, this.spec.table).tls;
    const choice: TlsChoice | undefined = (sni !== undefined ? table.byName.lookup(sni) : undefined) ?? table.fallback;
    if (choice === undefined) {
      // No filter chain matches: close, as Envoy does.
      this.ctx.stats.tlsInspectorRejected++;
      socket.destroy();
      return;
    }
    if (choice.passthrough) {
      this.ctx.stats.passthroughConnections++;
      this.pending.delete(socket);
      forwardTcp(this.ctx, socket, choice.passthrough, conn.clientAddress, true);
      return;
    }
    let server = this.tlsServers.get(choice.key);
    if (server === undefined) {
      try {
        server = this.createTlsServer(choice);
      } catch (err) {
        this.ctx.warnOnce(`tlsctx|${choice.fqdn}`, { fqdn: choice.fqdn, reason: (err as Error).message }, 'virtual host TLS settings unusable');
        socket.destroy();
        return;
      }
      this.tlsServers.set(choice.key, server);
    }
    conn.tls = choice;
    if (sni !== undefined) conn.sni = sni;
    socket[kConn] = conn;
    server.emit('connection', socket);
  }

  /** TLS session ticket keys after a rotation (before one, the servers
   *  carry the runtime's start-up keys in their options). */
  private ticketKeys: Buffer | undefined;

  /** Rotates the ticket keys of every TLS server of this listener, and of those made later. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    for (const s of this.tlsServers.values()) s.setTicketKeys(keys);
  }

  private createTlsServer(choice: TlsChoice): tls.Server {
    const server = tls.createServer({ ...choice.serverOptions, handshakeTimeout: this.opts.tlsHandshakeTimeoutMs });
    if (this.ticketKeys) server.setTicketKeys(this.ticketKeys);
    server.on('tlsClientError', (_err: Error, tlsSocket: tls.TLSSocket) => {
      this.ctx.stats.tlsHandshakeFailures++;
      // Node only reports a handshake that failed or ran out of time (a
      // client that stalls after its ClientHello, or closed its side): the
      // socket stays open until someone destroys it, and enough of them
      // use up the worker's file descriptors.
      tlsSocket.destroy();
      (tlsSocket as unknown as { _parent?: net.Socket })._parent?.destroy();
    });
    server.on('secureConnection', (tlsSocket: tls.TLSSocket) => this.onSecure(tlsSocket as unknown as tls.TLSSocket & Sock));
    return server;
  }

  private onSecure(tlsSocket: tls.TLSSocket & Sock): void {
    tlsSocket.on('error', noop);
    const parent = (tlsSocket as unknown as { _parent?: Sock })._parent;
    // Handshake done: from here the connection belongs to HTTP or TCP forwarding.
    if (parent) this.pending.delete(parent);
    const conn = parent?.[kConn];
    if (!conn || !conn.tls) {
      tlsSocket.destroy();
      return;
    }
    const choice = conn.tls;
    if (choice.verifyIfPresented && !tlsSocket.authorized) {
      const peer = tlsSocket.getPeerCertificate();
      if (peer && Object.keys(peer).length > 0) {
        this.ctx.stats.clientCertRejected++;
        tlsSocket.destroy();
        return;
      }
    }
    // For ext_authz's source peer (its principal and certificate).
    const presented = tlsSocket.getPeerX509Certificate();
    if (presented) conn.clientCertPem = presented.toString();
    conn.tlsSocket = tlsSocket;
    conn.tlsVersion = tlsSocket.getProtocol() ?? undefined;
    conn.tlsCipher = tlsSocket.getCipher()?.name;
    tlsSocket[kConn] = conn;
    this.sockets.add(tlsSocket);
    tlsSocket.once('close', () => this.sockets.delete(tlsSocket));
    const serve = (): void => {
      if (tlsSocket.destroyed) return;
      if (choice.tcpProxy) {
        this.ctx.stats.tcpProxyConnections++;
        forwardTcp(this.ctx, tlsSocket, choice.tcpProxy, conn.clientAddress);
        return;
      }
      if (tlsSocket.alpnProtocol === 'h2') this.http2Connection(tlsSocket, conn);
      else this.httpConnection(tlsSocket);
    };
    admitClientCertificate(tlsSocket, conn, choice, serve, (why) => {
      this.ctx.stats.clientCertRejected++;
      this.ctx.warnOnce(`crl|${choice.fqdn}|${why}`, { fqdn: choice.fqdn, remote: conn.remote, reason: why }, 'client certificate refused; connection closed');
      tlsSocket.destroy();
    });
  }

  /** An HTTP/2 connection over TLS from here on. With a shutdown grace
   *  period the session reads and writes through a JS stream, where the
   *  shutdown notice can be written (that costs CPU: see README). */
  private http2Connection(tlsSocket: tls.TLSSocket & Sock, conn: ConnInfo): void {
    delayHttp2Close(tlsSocket, this.delayedCloseMs);
    const grace = this.h2ShutdownGraceMs;
    if (grace === undefined || grace <= 0) {
      this.h2.emit('secureConnection', tlsSocket);
      return;
    }
    const stream = new PrefixedStream(tlsSocket, Buffer.alloc(0)) as PrefixedStream & { [kConn]?: ConnInfo };
    stream[kConn] = conn;
    this.h2.emit('secureConnection', stream);
  }

  /** An HTTP/1 connection from here on, with its max-connection-duration
   *  and delayed close: isobar's own server reads it while its requests
   *  fit (h1-connection.ts), node:http from the first that does not.
   *  `initial`: bytes already read from it. */
  private httpConnection(socket: Sock, initial?: Buffer): void {
    if (this.delayedCloseMs > 0) delayHttp1Close(socket, this.delayedCloseMs);
    const maxMs = this.opts.downstream.maxConnectionDurationMs;
    if (maxMs !== undefined && maxMs > 0) {
      const timer = setTimeout(() => {
        this.cxMaxDurationReached++;
        // Envoy drains it: a response in flight says Connection: close
        // and ends the connection; an idle one is closed now, or after the
        // shutdown grace period, answering with Connection: close what it
        // still sends in it.
        const pipeline = Http1Pipeline.peek(socket);
        const grace = this.h2ShutdownGraceMs;
        if (pipeline?.busy) pipeline.end();
        else if (grace === undefined || grace <= 0) socket.destroy();
        else {
          Http1Pipeline.of(socket).end();
          const closing = setTimeout(() => {
            if (!Http1Pipeline.of(socket).busy) socket.destroySoon();
          }, grace);
          socket.once('close', () => clearTimeout(closing));
        }
      }, maxMs);
      socket.once('close', () => clearTimeout(timer));
    }
    // A socket already gone never closes again: nothing would release it.
    if (socket.destroyed) return;
    const conn = new H1Connection(socket, {
      maxHeaderSize: this.opts.maxHeaderSize,
      idleMs: this.idleMs,
      onRequest: (req, res) => this.onRequest(req, res),
      handOff: (s, pipelined) => {
        if (pipelined) (s as Sock)[kPipelined] = true;
        this.h1Connection(s as Sock);
      },
      released: (c) => this.h1Connections.delete(c),
    });
    this.h1Connections.add(conn);
    conn.start(initial);
  }

  /** HTTP/2 connections' limits: GOAWAY after the last request
   *  max-requests-per-connection allows, and at max-connection-duration. */
  private limitSession(session: http2.ServerHttp2Session): void {
    const d = this.opts.downstream;
    const max = d.maxRequestsPerConnection;
    if (max !== undefined) {
      let n = 0;
      session.on('stream', () => {
        // After the stream's own listeners: it is served, and the GOAWAY names it.
        if (++n === max) {
          this.cxMaxRequestsReached++;
          session.close();
        }
      });
    }
    const maxMs = d.maxConnectionDurationMs;
    if (maxMs !== undefined && maxMs > 0) {
      const timer = setTimeout(() => {
        this.cxMaxDurationReached++;
        this.drainH2(session, undefined);
      }, maxMs);
      session.once('close', () => clearTimeout(timer));
    }
  }

  private onClientError(err: Error & { code?: string }, socket: net.Socket): void {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      // The client went away; nothing was malformed.
      socket.destroy();
      return;
    }
    // Closing: what the client still sends is read and dropped.
    if (inDelayedClose(socket)) return;
    const pipeline = Http1Pipeline.peek(socket);
    // The parser stays failed and says so again for every later read: those
    // bytes are read and dropped until the connection closes (reading on
    // keeps the close a FIN, not a reset that could lose the response).
    if (pipeline?.ended && pipeline.busy) return;
    this.ctx.stats.badRequests++;
    // Bytes that came behind a request isobar's server answered, and do
    // not parse (or whose first request does not arrive whole): as
    // absorbError() below, the connection closes without a 400 and that
    // request is dropped: node:http, reading the bytes behind the answered
    // request, would have queued it there and dropped it.
    const sock = socket as Sock;
    const first = sock[kPipelined];
    if (first !== undefined && (first === true || !first.complete)) {
      delete sock[kPipelined];
      Http1Pipeline.of(socket).end();
      if (first !== true || !Http1Pipeline.of(socket).busy) socket.destroySoon?.();
      return;
    }
    // Bytes after a request received whole: its response, and those of the
    // whole requests before the bytes, are delivered first; then the
    // connection closes. A 400 written now would land inside them.
    if (pipeline?.absorbError()) return;
    // A request already answering (its headers sent) can only be cut off.
    const msg = (socket as net.Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || msg?.headersSent) {
      socket.destroy();
      return;
    }
    const code = err.code ?? '';
    const status =
      code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT' ? 408 : 400;
    const text = http.STATUS_CODES[status] ?? '';
    socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    socket.destroySoon?.();
  }

  /** Stops accepting. Every connection accepted before is still served, as
   *  Envoy drains: each response from now on says Connection: close and
   *  ends its connection. For graceMs a connection that still owes its
   *  PROXY header, TLS handshake or first request, or sits idle between
   *  requests, may still send one (the load balancer in front accepted it
   *  and may be passing a request on right now); after that such
   *  connections are closed. Resolves once every connection is gone. */
  stopAccepting(graceMs: number): Promise<void> {
    this.closing = true;
    this.graceEndsAt = performance.now() + graceMs;
    for (const s of this.sockets) Http1Pipeline.peek(s)?.end();
    for (const s of this.h2Sessions) this.drainH2(s, graceMs);
    let stopped = false;
    // net.Server's close, not node:http's: that one would also close idle
    // keep-alive connections at once, resetting a request on its way.
    let unixStopped = this.unixServer === undefined;
    this.unixServer?.close(() => (unixStopped = true));
    net.Server.prototype.close.call(this.server, () => (stopped = true));
    this.grace = setTimeout(() => {
      this.graceOver = true;
      for (const s of this.pending) s.destroy();
      this.closeIdleConnections();
    }, graceMs);
    return new Promise<void>((resolve) => {
      this.sweep = setInterval(() => {
        // Keep-alive connections become idle as their last response ends.
        if (this.graceOver) this.closeIdleConnections();
        if (stopped && unixStopped && this.sockets.size === 0) {
          clearInterval(this.sweep);
          clearTimeout(this.grace);
          resolve();
        }
      }, 50);
    });
  }

  /** Keep-alive connections with no request owed (node:http's and isobar's server's). */
  private closeIdleConnections(): void {
    this.server.closeIdleConnections();
    for (const c of this.h1Connections) c.closeIfIdle();
  }

  destroyAll(): void {
    clearTimeout(this.grace);
    clearInterval(this.sweep);
    // node:http's close: stops its header-timeout checks.
    this.server.close();
    this.unixServer?.close();
    for (const s of this.h2Sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
  }
}
