// The demo backend: an HTTP(S) server that answers every request with what
// it saw, so a person (or a test) can check what crossed the edge: the
// client address from X-Forwarded-For, the scheme, the SNI the proxy sent,
// and the client certificate the proxy presented.

import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';

export interface DemoBackendOptions {
  host: string;
  port: number;
  name: string;
  tls?: {
    certPem: string;
    keyPem: string;
    /** CA bundle that client certificates must chain to. */
    caPem?: string;
    requireClientCert: boolean;
  };
}

export interface DemoAnswer {
  backend: string;
  method: string;
  path: string;
  host: string;
  /** First X-Forwarded-For entry: the original client address. */
  clientAddress: string;
  /** The TCP peer: whoever connected to the backend (the proxy). */
  peerAddress: string;
  /** Scheme the client used, as the proxy reported it (X-Forwarded-Proto). */
  scheme: string;
  /** Whether the proxy→backend hop itself was TLS. */
  tls: boolean;
  sni: string | null;
  clientCertificate: { subject: string; issuer: string; authorized: boolean } | null;
  headers: Record<string, string | string[] | undefined>;
}

export function describeRequest(name: string, req: http.IncomingMessage): DemoAnswer {
  const socket = req.socket as TLSSocket;
  const isTls = Boolean(socket.encrypted);
  let clientCertificate: DemoAnswer['clientCertificate'] = null;
  if (isTls) {
    const peer = socket.getPeerCertificate();
    if (peer && Object.keys(peer).length > 0) {
      clientCertificate = {
        subject: formatName(peer.subject),
        issuer: formatName(peer.issuer),
        authorized: socket.authorized,
      };
    }
  }
  const xff = headerValue(req.headers['x-forwarded-for']);
  return {
    backend: name,
    method: req.method ?? '',
    path: req.url ?? '',
    host: req.headers.host ?? '',
    clientAddress: xff ? xff.split(',')[0]!.trim() : (req.socket.remoteAddress ?? ''),
    peerAddress: req.socket.remoteAddress ?? '',
    scheme: headerValue(req.headers['x-forwarded-proto']) ?? (isTls ? 'https' : 'http'),
    tls: isTls,
    sni: isTls ? ((socket as TLSSocket & { servername?: string | false }).servername || null) : null,
    clientCertificate,
    headers: req.headers,
  };
}

export async function startDemoBackend(opts: DemoBackendOptions): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify(describeRequest(opts.name, req), null, 2) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
  const server: http.Server = opts.tls
    ? https.createServer(
        {
          cert: opts.tls.certPem,
          key: opts.tls.keyPem,
          ca: opts.tls.caPem,
          requestCert: opts.tls.requireClientCert || Boolean(opts.tls.caPem),
          rejectUnauthorized: opts.tls.requireClientCert,
          minVersion: 'TLSv1.2',
        },
        handler,
      )
    : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function formatName(n: object | undefined): string {
  if (!n) return '';
  return Object.entries(n as Record<string, string | string[]>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}
