// The challenge answerer of `isobar certs request --acme` when no `serve`
// runs on this store: HTTP-01 on a plain port (80 unless told) and
// TLS-ALPN-01 on a TLS port (443 unless told), for the length of one
// order. Anything else gets 404 or a closed handshake.

import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { AcmeChallengeTable, ACME_TLS_ALPN, type AcmeChallenge } from '../balancer/index.ts';
import { CertsError } from './errors.ts';
import type { ChallengeResponder } from './acme-issue.ts';

export interface ChallengeServerOptions {
  address: string;
  /** undefined: that challenge type is not answered here. */
  httpPort?: number;
  tlsPort?: number;
}

const PATH = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/;

export class ChallengeServer implements ChallengeResponder {
  readonly #table = new AcmeChallengeTable();
  readonly #active: AcmeChallenge[] = [];
  #http: HttpServer | undefined;
  #tls: TlsServer | undefined;

  static async start(o: ChallengeServerOptions): Promise<ChallengeServer> {
    const s = new ChallengeServer();
    try {
      if (o.httpPort !== undefined) s.#http = await listen(s.#httpServer(), o.address, o.httpPort, 'http-01');
      if (o.tlsPort !== undefined) s.#tls = await listen(s.#tlsServer(), o.address, o.tlsPort, 'tls-alpn-01');
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  get httpPort(): number | undefined {
    const a = this.#http?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  get tlsPort(): number | undefined {
    const a = this.#tls?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  async publish(c: AcmeChallenge): Promise<void> {
    this.#active.push(c);
    this.#table.replace(this.#active);
  }

  async withdraw(c: AcmeChallenge): Promise<void> {
    const i = this.#active.indexOf(c);
    if (i >= 0) this.#active.splice(i, 1);
    this.#table.replace(this.#active);
  }

  async close(): Promise<void> {
    await Promise.all([this.#http, this.#tls].map((srv) => srv && new Promise<void>((resolve) => srv.close(() => resolve()))));
  }

  #httpServer(): HttpServer {
    return createHttpServer((req, res) => {
      const m = req.method === 'GET' ? PATH.exec(req.url ?? '') : null;
      const keyAuthorization = m ? this.#table.keyAuthorization(m[1]!) : undefined;
      if (keyAuthorization === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('no such challenge\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', connection: 'close' }).end(keyAuthorization);
    });
  }

  #tlsServer(): TlsServer {
    const server = createTlsServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      SNICallback: (name, cb) => {
        const ctx = this.#table.alpnContext(name);
        if (ctx) cb(null, ctx);
        else cb(new Error(`no TLS-ALPN-01 challenge for ${name}`));
      },
    });
    server.on('secureConnection', (s) => s.end());
    server.on('tlsClientError', () => {});
    return server;
  }
}

function listen<T extends HttpServer | TlsServer>(server: T, address: string, port: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${port} is in use (if \`isobar serve\` runs there on another state dir, request through it: \`isobar certs --state-dir ITS_DIR request --acme ...\`)`
          : err.code === 'EACCES'
            ? `port ${port} needs privileges; run \`isobar serve\` (its load balancer answers the challenge), or give --${what === 'http-01' ? 'http-01' : 'tls-alpn-01'}-port with a port forwarded from ${what === 'http-01' ? 80 : 443}`
            : err.message;
      reject(new CertsError('BAD_INPUT', `cannot answer ${what} on ${address}:${port}: ${why}`));
    });
    server.listen({ host: address, port }, () => resolve(server));
  });
}
