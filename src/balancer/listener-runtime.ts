// One balancer listener on a real socket. A plain net.Server owns the port;
// each accepted connection is handled by the listener's current handler
// (TCP, or TLS with the certificate chosen by SNI), so a config change swaps
// the handler without rebinding and open connections keep the handler they
// started with. A client outside the load balancer's source ranges is
// closed as it is accepted. Flows go to a target chosen by the pool, with a
// PROXY v2 header first when configured.

import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket, connect as tlsConnect, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { BalancerCounters } from '../metrics/index.ts';
import { encodeV2 } from '../proxyprotocol/index.ts';
import { ACME_TLS_ALPN, type AcmeChallengeTable } from './acme-challenges.ts';
import type { BalancerListener } from './balancer-config.ts';
import { chooseCertificate } from './certificate-match.ts';
import { peekClientOffer, type ClientHelloInfo } from './client-hello.ts';
import { answerHttp01 } from './http01-answer.ts';
import { selectAlpn } from './policies.ts';
import { ReadRelay } from './read-relay.ts';
import { RefusalLog } from './refusal-log.ts';
import { SourceFilter } from './source-filter.ts';
import { TargetPool, type PoolTarget } from './target-pool.ts';
import { setTicketKeys, type ListenerContexts } from './tls-contexts.ts';
import { answerTlsAlpn } from './tls-alpn-answer.ts';

export interface ProxyTargetAddresses {
  http: { address: string; port: number };
  https: { address: string; port: number };
  /** The same listeners on Unix domain sockets, one path per proxy worker:
   *  a flow for them goes over one of these (in turn, the next on error,
   *  the TCP address last), which costs the kernel less than loopback TCP. */
  unixPaths?: { http: string[]; https: string[] };
  /** Each proxy worker's Unix socket of a port listener, "{listener}"
   *  standing for its name: flows to a proxy-port target go over these
   *  (in turn, the next on error); without them (and no local proxy) they fail. */
  portPathTemplates?: string[];
}

/** isobar's own proxy in this same process: a flow to one of its
 *  balancer listeners is handed over as the client stream itself (PROXY
 *  header still first), with no loopback connection in between. */
export interface LocalProxy {
  /** Serve `client` as if it had connected to the proxy's balancer
   *  listener for `kind` ("http", "https" or a port listener's name); the
   *  stream starts with the PROXY header. */
  adopt(kind: string, client: Socket): void;
}

/** Listening sockets that outlive this process (serve's balancer workers:
 *  the primary holds a copy of each, so a worker's death resets none of
 *  the connections queued on them). Keyed "address:port" of the config. */
export interface ListenSockets {
  /** The socket a worker this one replaces listened on for `key`, taken
   *  once: the listener accepts on it instead of binding a new one. */
  take(key: string): unknown;
  /** The listener for `key` accepts on `server`. */
  bound(key: string, server: Server): void;
  /** It stopped: the copy may close. */
  unbound(key: string): void;
  /** The sockets of dead worker `from` this listener accepted on for it
   *  are closed (the listener stopped before the worker was replaced). */
  orphanReleased(from: number, key: string): void;
}

export interface ListenerDeps {
  logger: Logger;
  proxyTargets?: ProxyTargetAddresses;
  localProxy?: LocalProxy;
  reusePort: boolean;
  sockets?: ListenSockets;
  /** ACME challenges the certificate manager is being validated for. */
  challenges?: AcmeChallengeTable;
}

/** What a connection is served with; replaced whole on a config change. */
interface Handler {
  config: BalancerListener;
  contexts?: ListenerContexts;
  sources: SourceFilter;
}

const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
const TARGET_CONNECT_TIMEOUT_MS = 10_000;
/** How long a port-80 client may stay silent, while an HTTP-01 challenge
 *  is pending, before its flow goes to the target unread. */
const HTTP01_WAIT_MS = 2_000;

/** "::ffff:127.0.0.1" -> "127.0.0.1", so v4 clients get a TCP4 header. */
function plainAddress(a: string | undefined): string {
  if (!a) return '0.0.0.0';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1] : a;
}

export class ListenerRuntime {
  readonly id: string;
  private readonly deps: ListenerDeps;
  private server: Server | undefined;
  private boundAt: { address: string; port: number } | undefined;
  private handler: Handler | undefined;
  readonly pool = new TargetPool();
  /** Flow counters for the metrics (isobar_lb_*). */
  readonly counters = new BalancerCounters();
  private readonly flows = new Set<Socket>();
  /** Sockets of dead workers this listener accepts on until their
   *  replacements take them back, by worker index. */
  private readonly orphans = new Map<number, Server>();
  /** The key the listen sockets know this listener's socket by. */
  private keptAs: string | undefined;
  problems: string[] = [];
  /** Problems of the last apply that did not take (the listener kept its
   *  previous state). */
  applyProblems: string[] = [];
  private retired = false;
  private readonly refusals: RefusalLog;
  /** The proxy port listener this listener's flows go to (a proxy-port target). */
  private portListener: string | undefined;

  constructor(id: string, deps: ListenerDeps) {
    this.id = id;
    this.deps = deps;
    this.refusals = new RefusalLog(deps.logger, id);
  }

  /** Connections refused for coming from outside the source ranges. */
  get refusedCount(): number {
    return this.refusals.total;
  }

  get config(): BalancerListener | undefined {
    return this.handler?.config;
  }

  get bound(): boolean {
    return this.server !== undefined && this.server.listening;
  }

  address(): { address: string; port: number } | undefined {
    return this.bound ? this.boundAt : undefined;
  }

  /** Whether the listener sits on the address:port the config names
   *  (bindPort 0 = any ephemeral port). */
  bindMatches(l: BalancerListener): boolean {
    const h = this.handler?.config;
    return this.bound && h !== undefined && h.bindAddress === l.bindAddress && h.bindPort === l.bindPort;
  }

  /** Swap to a new config. TLS contexts are already built. */
  activate(config: BalancerListener, contexts: ListenerContexts | undefined): void {
    this.handler = { config, contexts, sources: new SourceFilter(config.sourceRanges) };
    const problems: string[] = [];
    const targets: { address: string; port: number }[] = [];
    this.portListener = undefined;
    for (const t of config.targets) {
      if (t.kind === 'proxy-port') {
        // Health-checked at the proxy's HTTP listener for the balancer; the flows go to the port listener.
        this.portListener = t.listener;
      }
      if (t.kind === 'endpoint') {
        targets.push({ address: t.address, port: t.port });
        continue;
      }
      const p = t.kind === 'proxy-https' ? this.deps.proxyTargets?.https : this.deps.proxyTargets?.http;
      if (p) targets.push({ address: p.address, port: p.port });
      else if (t.address !== '' && t.port > 0) targets.push({ address: t.address, port: t.port });
      else problems.push(`target ${t.kind}: the proxy's listener address is not known to the balancer, so this target is skipped`);
    }
    this.problems = problems;
    this.applyProblems = [];
    this.pool.update(targets, {
      healthCheck: config.healthCheck,
      proxyProtocol: config.proxyProtocol,
      deregistrationDelayMs: config.deregistrationDelayMs,
      drainTerminatesConnections: config.drainTerminatesConnections ?? false,
      targetSelection: config.targetSelection,
    });
  }

  /** New TLS session ticket keys for the contexts in use. */
  setTicketKeys(keys: Buffer): void {
    if (this.handler?.contexts) setTicketKeys(this.handler.contexts, keys);
  }

  /** Binds the handler's address:port; rejects with a readable message. */
  async bind(): Promise<void> {
    const cfg = this.handler?.config;
    if (!cfg) throw new Error('no config');
    const server = this.acceptor();
    // An ephemeral port is this process's own: nothing to keep or take.
    const key = this.deps.sockets && cfg.bindPort !== 0 ? `${cfg.bindAddress}:${cfg.bindPort}` : undefined;
    const inherited = key !== undefined ? this.deps.sockets!.take(key) : undefined;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(new Error(`cannot listen on ${cfg.bindAddress}:${cfg.bindPort}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`));
      };
      server.once('error', onError);
      const listening = (): void => {
        server.off('error', onError);
        resolve();
      };
      if (inherited !== undefined) server.listen(inherited as Parameters<Server['listen']>[0], listening);
      else server.listen({ host: cfg.bindAddress, port: cfg.bindPort, reusePort: this.deps.reusePort || undefined }, listening);
    });
    server.on('error', (err) => this.deps.logger.warn({ listener: this.id, err: err.message }, 'listener error'));
    const a = server.address() as AddressInfo;
    this.server = server;
    this.boundAt = { address: a.address, port: a.port };
    if (key !== undefined) {
      this.keptAs = key;
      this.deps.sockets!.bound(key, server);
    }
    this.deps.logger.info({ listener: this.id, address: a.address, port: a.port, protocol: cfg.protocol, ...(inherited !== undefined ? { inherited: true } : {}) }, 'listening');
  }

  /** A server that serves what it accepts as this listener's connections. */
  private acceptor(): Server {
    // No Nagle on either side of a flow: a small write (a PROXY header, a
    // short response) goes out at once instead of waiting for an ACK.
    return createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.onConnection(socket));
  }

  /** Whether this listener's socket is the one known as `key`. */
  keptUnder(key: string): boolean {
    return this.bound && this.keptAs === key;
  }

  /** Accept, for dead worker `from`, on its socket of this listener's key. */
  adoptOrphan(from: number, handle: unknown): void {
    this.releaseOrphan(from);
    const server = this.acceptor();
    server.on('error', (err) => this.deps.logger.warn({ listener: this.id, from, err: err.message }, 'error on a dead worker\'s socket'));
    server.listen(handle as Parameters<Server['listen']>[0]);
    this.orphans.set(from, server);
  }

  /** Worker `from`'s replacement accepts on its sockets again. */
  releaseOrphan(from: number): void {
    this.orphans.get(from)?.close();
    this.orphans.delete(from);
  }

  /** Stops accepting (the port is free at once); open flows continue. */
  unbind(): void {
    this.server?.close();
    this.server = undefined;
    this.boundAt = undefined;
    if (this.keptAs !== undefined) {
      for (const [from, orphan] of this.orphans) {
        orphan.close();
        this.deps.sockets!.orphanReleased(from, this.keptAs);
      }
      this.orphans.clear();
      this.deps.sockets!.unbound(this.keptAs);
      this.keptAs = undefined;
    }
  }

  /** The listener left the config: stop accepting and checking; open flows
   *  get the deregistration delay, then end. */
  retire(): void {
    this.retired = true;
    this.unbind();
    this.pool.stop();
    this.refusals.stop();
    const delay = this.handler?.config.deregistrationDelayMs ?? 0;
    if (this.flows.size === 0) return;
    const t = setTimeout(() => {
      for (const s of this.flows) s.destroy();
    }, delay);
    t.unref();
  }

  /** Closes everything; resolves when all flows ended or after drainMs. */
  async close(drainMs: number): Promise<void> {
    this.retired = true;
    this.unbind();
    this.pool.stop();
    this.refusals.stop();
    if (this.flows.size === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        for (const s of this.flows) s.destroy();
        resolve();
      }, drainMs);
      const check = () => {
        if (this.flows.size === 0) {
          clearTimeout(t);
          resolve();
        }
      };
      for (const s of this.flows) s.once('close', () => setImmediate(check));
    });
  }

  get flowCount(): number {
    return this.flows.size;
  }

  // ---- per connection -------------------------------------------------

  private onConnection(raw: Socket): void {
    const h = this.handler;
    raw.on('error', () => raw.destroy());
    if (!h || this.retired) {
      raw.destroy();
      return;
    }
    if (!h.sources.allows(raw.remoteAddress)) {
      // As a security group would: nothing of it is read, no handshake,
      // no target connection, no PROXY header. (A security group drops
      // the packets and the client times out; closing at once is kinder
      // to clients and costs the same.)
      this.refusals.note(raw.remoteAddress);
      raw.destroy();
      return;
    }
    this.flows.add(raw);
    this.counters.newFlows++;
    raw.once('close', () => {
      this.flows.delete(raw);
      this.counters.processedBytes += raw.bytesRead + raw.bytesWritten;
    });
    if (h.config.protocol === 'TLS') {
      const ctx = h.contexts ?? { certificates: [], contexts: [], keyTypes: [] };
      // Never accept TLS without a certificate; a listener whose
      // certificate is still being issued answers only TLS-ALPN-01.
      if (ctx.contexts.length === 0 && !this.deps.challenges?.alpnActive) {
        raw.destroy();
        return;
      }
      void this.startTls(raw, h, ctx);
    } else {
      raw.pause();
      raw.setTimeout(h.config.idleTimeoutMs, () => raw.destroy());
      // HTTP-01 validation always comes to port 80 (RFC 8555 section 8.3).
      if (h.config.servicePort === 80 && this.deps.challenges?.httpActive) void this.plainAfterHttp01(raw, h, this.deps.challenges);
      else void this.forward(raw, raw, h, undefined);
    }
  }

  private async plainAfterHttp01(raw: Socket, h: Handler, table: AcmeChallengeTable): Promise<void> {
    const outcome = await answerHttp01(raw, table, HTTP01_WAIT_MS);
    if (outcome === 'forward' && !raw.destroyed) await this.forward(raw, raw, h, undefined);
  }

  private async startTls(raw: Socket, h: Handler, ctx: ListenerContexts): Promise<void> {
    const cfg = h.config;
    const policyAlpn = cfg.tls?.alpn ?? null;
    const handshakeTimer = setTimeout(() => raw.destroy(), TLS_HANDSHAKE_TIMEOUT_MS);
    handshakeTimer.unref();
    raw.once('close', () => clearTimeout(handshakeTimer));
    // Node answers "no overlap" with a fatal alert; the NLB continues
    // without ALPN. Reading the client's offer first lets us offer ALPN
    // only when there is something to agree on, and pick among several
    // certificates for a name by what the client can verify.
    let hello: ClientHelloInfo = {};
    const challenges = this.deps.challenges?.alpnActive ? this.deps.challenges : undefined;
    if (policyAlpn || ctx.certificates.length > 1 || challenges) {
      try {
        hello = await peekClientOffer(raw, TLS_HANDSHAKE_TIMEOUT_MS);
      } catch {
        this.counters.clientTlsNegotiationErrors++;
        raw.destroy();
        return;
      }
    }
    if (raw.destroyed) return;
    if (challenges && hello.alpn?.includes(ACME_TLS_ALPN)) {
      // A validation server, never a client: it gets the challenge
      // certificate for its name or nothing.
      const context = challenges.alpnContext(hello.serverName);
      if (context) answerTlsAlpn(raw, context);
      else raw.destroy();
      return;
    }
    if (ctx.contexts.length === 0) {
      raw.destroy();
      return;
    }
    const offerAlpn = policyAlpn !== null && hello.alpn !== undefined && selectAlpn(policyAlpn, hello.alpn) !== undefined;
    const client = { sigalgs: hello.sigalgs, keyTypes: ctx.keyTypes };
    const sock = new TLSSocket(raw, {
      isServer: true,
      secureContext: ctx.contexts[0],
      // One certificate needs no choice: without an SNI callback the
      // handshake runs straight through OpenSSL, with no round trip to JS.
      ...(ctx.contexts.length > 1
        ? {
            SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
              cb(null, ctx.contexts[chooseCertificate(ctx.certificates, servername, client)]);
            },
          }
        : {}),
      ...(offerAlpn && policyAlpn
        ? { ALPNCallback: ({ protocols }: { protocols: string[] }) => selectAlpn(policyAlpn, protocols) }
        : {}),
    });
    let secured = false;
    sock.on('error', (err) => {
      if (!secured) this.counters.clientTlsNegotiationErrors++;
      secured = true;
      this.deps.logger.debug({ listener: this.id, err: err.message }, 'TLS connection error');
      sock.destroy();
      raw.destroy();
    });
    sock.once('secure', () => {
      secured = true;
      clearTimeout(handshakeTimer);
      sock.pause();
      sock.setTimeout(cfg.idleTimeoutMs, () => sock.destroy());
      void this.forward(sock, raw, h, sock);
    });
  }

  private proxyHeader(raw: Socket, cfg: BalancerListener, tlsSock: TLSSocket | undefined): Buffer | undefined {
    if (!cfg.proxyProtocol) return undefined;
    const tlvs = cfg.proxyProtocolTlvs;
    const opts: Parameters<typeof encodeV2>[0] = {
      command: 'PROXY',
      source: { address: plainAddress(raw.remoteAddress), port: raw.remotePort ?? 0 },
      destination: { address: plainAddress(raw.localAddress), port: raw.localPort ?? 0 },
    };
    if (tlsSock) {
      if (tlvs.includes('alpn') && typeof tlsSock.alpnProtocol === 'string') opts.alpn = tlsSock.alpnProtocol;
      const sn = (tlsSock as TLSSocket & { servername?: string | false }).servername;
      if (tlvs.includes('authority') && typeof sn === 'string' && sn !== '') opts.authority = sn;
      if (tlvs.includes('ssl')) {
        opts.ssl = {
          connectedWithSsl: true,
          client: 0,
          verify: 0,
          version: tlsSock.getProtocol() ?? undefined,
          cipher: tlsSock.getCipher()?.name,
        };
      }
    }
    try {
      return encodeV2(opts);
    } catch {
      // Addresses of a family the header cannot carry: send LOCAL rather
      // than a wrong client address.
      return encodeV2({ command: 'LOCAL' });
    }
  }

  /** Which of the proxy's listeners `t` is, if any. */
  private proxyKind(t: PoolTarget): 'http' | 'https' | undefined {
    const p = this.deps.proxyTargets;
    if (!p) return undefined;
    if (t.address === p.http.address && t.port === p.http.port) return 'http';
    if (t.address === p.https.address && t.port === p.https.port) return 'https';
    return undefined;
  }

  /** Which of the in-process proxy's listeners `t` is, if any. */
  private localKind(t: PoolTarget): 'http' | 'https' | undefined {
    return this.deps.localProxy ? this.proxyKind(t) : undefined;
  }

  /** Where the next flow to a proxy listener's Unix sockets starts. */
  private unixTurn = 0;

  /** Connects to the proxy over its Unix sockets (each worker's in turn,
   *  the next on error), else over TCP to `t`. */
  private async dialProxy(t: PoolTarget, cfg: BalancerListener, header: Buffer | undefined, relay: ReadRelay): Promise<Socket> {
    if (this.portListener !== undefined) return this.dialPort(this.portListener, header, relay);
    const kind = this.proxyKind(t);
    // Re-encryption to the proxy (a TLS target protocol) keeps to TCP.
    const paths = kind && cfg.targetProtocol !== 'TLS' ? this.deps.proxyTargets?.unixPaths?.[kind] : undefined;
    if (paths !== undefined && paths.length > 0) {
      const start = this.unixTurn++ % paths.length;
      for (let i = 0; i < paths.length; i++) {
        try {
          return await dialUnix(paths[(start + i) % paths.length]!, header, relay);
        } catch (err) {
          this.deps.logger.debug({ listener: this.id, target: paths[(start + i) % paths.length], err: (err as Error).message }, 'proxy socket connect failed');
        }
      }
    }
    return dial(t, cfg, header, relay);
  }

  /** Connects to a proxy port listener over each worker's Unix socket in
   *  turn (it has no loopback port of its own). */
  private async dialPort(name: string, header: Buffer | undefined, relay: ReadRelay): Promise<Socket> {
    const templates = this.deps.proxyTargets?.portPathTemplates ?? [];
    const start = this.unixTurn++;
    let last: Error = new Error(`the proxy's port listener ${name} has no socket the balancer knows`);
    for (let i = 0; i < templates.length; i++) {
      const file = templates[(start + i) % templates.length]!.replaceAll('{listener}', name);
      try {
        return await dialUnix(file, header, relay);
      } catch (err) {
        last = err as Error;
        this.deps.logger.debug({ listener: this.id, target: file, err: last.message }, 'proxy socket connect failed');
      }
    }
    throw last;
  }

  /** Connects to a target (trying the next one on error, before the client
   *  has seen anything) and pipes both ways. */
  private async forward(client: Socket, raw: Socket, h: Handler, tlsSock: TLSSocket | undefined): Promise<void> {
    const cfg = h.config;
    const tuple = `${raw.remoteAddress}|${raw.remotePort}|${raw.localAddress}|${raw.localPort}|tcp`;
    const header = this.proxyHeader(raw, cfg, tlsSock);
    let upstream: Socket | undefined;
    let chosen: PoolTarget | undefined;
    const relay = new ReadRelay();
    for (const t of this.pool.candidates(tuple)) {
      if (client.destroyed) return;
      const local = this.portListener !== undefined && this.deps.localProxy ? this.portListener : this.localKind(t);
      if (local) {
        this.pool.track(t, client);
        if (header) {
          client.unshift(header);
          this.counters.proxyHeadersSent++;
        }
        this.deps.localProxy!.adopt(local, client);
        return;
      }
      try {
        upstream = await this.dialProxy(t, cfg, header, relay);
        chosen = t;
        break;
      } catch (err) {
        if ((err as { targetTls?: boolean }).targetTls) this.counters.targetTlsNegotiationErrors++;
        this.deps.logger.debug({ listener: this.id, target: `${t.address}:${t.port}`, err: (err as Error).message }, 'target connect failed');
      }
    }
    if (!upstream || !chosen) {
      if (!client.destroyed) this.counters.targetConnectErrors++;
      client.destroy();
      return;
    }
    if (header) this.counters.proxyHeadersSent++;
    if (client.destroyed || upstream.destroyed) {
      // A target gone before the flow was joined (its close may have been
      // emitted already, so no 'close' below would end the client).
      upstream.destroy();
      client.destroy();
      return;
    }
    this.pool.track(chosen, upstream);
    const up = upstream;
    up.setTimeout(cfg.idleTimeoutMs, () => up.destroy());
    up.on('error', () => up.destroy());
    client.on('error', () => client.destroy());
    // One side fully closed: the other gets what is still queued for it,
    // then closes (an error closes it at once).
    up.once('close', (hadError: boolean) => {
      if (hadError) this.counters.targetResets++;
      closeAfterFlush(client, hadError);
    });
    client.once('close', (hadError: boolean) => closeAfterFlush(up, hadError));
    client.pipe(up);
    if (relay.relays(up)) relay.start(up, client);
    else up.pipe(client);
    client.resume();
  }
}

/** Ends `s` once what is queued for it is written; at once on error. */
export function closeAfterFlush(s: Socket, hadError: boolean): void {
  if (hadError || s.destroyed || s.writableFinished) {
    s.destroy();
    return;
  }
  s.once('finish', () => s.destroy());
  s.end();
}

/** From connect on, an error on a target socket destroys it (a write to a
 *  proxy worker that just died fails with EPIPE): with no listener it
 *  would be thrown, and take every flow of this worker with it. */
const destroyOnError = function (this: Socket): void {
  this.destroy();
};

/** A plain connection to the proxy's Unix socket, the PROXY header written first. */
export function dialUnix(file: string, header: Buffer | undefined, relay: ReadRelay): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = relay.connect({ path: file, allowHalfOpen: true });
    const timer = setTimeout(() => fail(new Error('connect timeout')), TARGET_CONNECT_TIMEOUT_MS);
    timer.unref();
    const fail = (err: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    s.once('error', fail);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', fail);
      s.on('error', destroyOnError);
      if (header) s.write(header);
      resolve(s);
    });
  });
}

function dial(t: PoolTarget, cfg: BalancerListener, header: Buffer | undefined, relay: ReadRelay): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Re-encryption reads through TLS, never into the relay's buffer.
    const plain = cfg.targetProtocol !== 'TLS';
    const options = { host: t.address, port: t.port, allowHalfOpen: true, noDelay: true };
    const s = plain ? relay.connect(options) : connect(options);
    const timer = setTimeout(() => fail(new Error('connect timeout')), TARGET_CONNECT_TIMEOUT_MS);
    timer.unref();
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    s.once('error', fail);
    s.once('connect', () => {
      if (plain) {
        done = true;
        clearTimeout(timer);
        s.off('error', fail);
        s.on('error', destroyOnError);
        if (header) s.write(header);
        resolve(s);
        return;
      }
      if (header) s.write(header);
      // Re-encryption. The NLB never verifies targets; isobar does when a
      // CA is configured (chain only unless a server name is given: targets
      // are addressed by IP).
      const ca = cfg.targetTls?.caPem;
      const servername = cfg.targetTls?.servername;
      const ts = tlsConnect({
        socket: s,
        ca,
        rejectUnauthorized: ca !== undefined,
        servername,
        checkServerIdentity: servername ? undefined : () => undefined,
      });
      ts.once('error', (err) => fail(Object.assign(err, { targetTls: true })));
      ts.once('secureConnect', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        ts.off('error', fail);
        s.off('error', fail);
        resolve(ts);
      });
    });
  });
}
