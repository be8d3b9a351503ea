// A JWKS endpoint for tests: plain HTTP or HTTPS on 127.0.0.1, serving
// whatever document the test sets, counting requests, and able to answer
// an error status or to stall (for timeouts). Keys and tokens come from jose.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface JwksServer {
  port: number;
  /** The URL of `path` on this server (https when started with TLS). */
  url(path?: string, host?: string): string;
  /** The document served from now on (objects are sent as JSON). */
  serve(doc: unknown): void;
  /** Answer this status (with an empty body) instead; 200 restores the document. */
  status: number;
  /** Hold each response this long. */
  delayMs: number;
  requests: number;
  close(): Promise<void>;
}

export async function startJwksServer(tls?: { certPem: string; keyPem: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<JwksServer> {
  let body = '{"keys":[]}';
  const held = new Set<http.ServerResponse>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    server.requests++;
    const answer = (): void => {
      held.delete(res);
      if (server.status !== 200) res.writeHead(server.status).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    };
    if (server.delayMs > 0) {
      held.add(res);
      setTimeout(answer, server.delayMs).unref();
    } else answer();
    void req;
  };
  const srv = tls ? https.createServer({ cert: tls.certPem, key: tls.keyPem, ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}) }, handler) : http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const server: JwksServer = {
    port,
    url: (path = '/jwks.json', host = '127.0.0.1') => `${tls ? 'https' : 'http'}://${host}:${port}${path}`,
    serve(doc) {
      body = typeof doc === 'string' ? doc : JSON.stringify(doc);
    },
    status: 200,
    delayMs: 0,
    requests: 0,
    close() {
      for (const r of held) r.destroy();
      srv.closeAllConnections();
      return new Promise((r) => srv.close(() => r()));
    },
  };
  return server;
}

export interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  /** The public JWK, with kid, alg and use set. */
  jwk: JWK;
}

export async function signingKey(alg: string, kid: string, opts: { withAlg?: boolean } = {}): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig' };
  if (opts.withAlg !== false) jwk.alg = alg;
  return { alg, kid, privateKey, jwk };
}

/** A token signed by `key`; `header` adds to or overrides the protected header. */
export function signToken(key: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
}

export function nowS(): number {
  return Math.floor(Date.now() / 1000);
}
