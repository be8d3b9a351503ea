// Shared test code for the proxy: ProxyConfig builders (so tests do not depend on
// the DAG), real backends on ephemeral ports, and a runtime starter.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type {
  Cluster,
  HeaderOps,
  ProxyConfig,
  Route,
  RouteAction,
  SecureVirtualHost,
  UpstreamTls,
  VirtualHost,
  WeightedCluster,
} from '../../src/dag/proxy-config.ts';
import { ProxyRuntime, type AccessLogEntry, type ProxyListenerSpec, type ProxyRuntimeOptions } from '../../src/proxy/index.ts';

export const NO_OPS: HeaderOps = { set: [], remove: [] };

export function cluster(name: string, endpoints: { address: string; port: number }[], extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    namespace: 'default',
    service: name,
    servicePort: 80,
    protocol: 'http1',
    endpoints,
    loadBalancer: { strategy: 'RoundRobin', hashPolicies: [] },
    connectTimeoutMs: 2000,
    idleConnectionTimeoutMs: null,
    ...extra,
  };
}

export function wc(name: string, weight = 1, extra: Partial<WeightedCluster> = {}): WeightedCluster {
  return { cluster: name, weight, requestHeaders: NO_OPS, responseHeaders: NO_OPS, ...extra };
}

export function route(extra: Partial<Route> & { to?: string | WeightedCluster[] } = {}): Route {
  const { to, ...rest } = extra;
  const action: RouteAction =
    rest.action ??
    ({ kind: 'forward', clusters: typeof to === 'string' ? [wc(to)] : (to ?? []) } as RouteAction);
  return {
    path: { kind: 'prefix', value: '/' },
    headers: [],
    queryParams: [],
    requestHeaders: NO_OPS,
    responseHeaders: NO_OPS,
    websocket: false,
    timeouts: { responseMs: 15_000, idleMs: null },
    origin: { namespace: 'default', name: 'proxy' },
    ...rest,
    action,
  };
}

export function vhost(fqdn: string, routes: Route[]): VirtualHost {
  return { fqdn, routes };
}

export function secureVhost(fqdn: string, routes: Route[], extra: Partial<SecureVirtualHost> = {}): SecureVirtualHost {
  return { fqdn, routes, minVersion: '1.2', maxVersion: '1.3', fallbackCertificate: false, ...extra };
}

export function config(extra: Partial<ProxyConfig> = {}): ProxyConfig {
  return { httpVirtualHosts: [], httpsVirtualHosts: [], clusters: [], secrets: [], caBundles: [], ...extra };
}

export function upstreamTls(extra: Partial<UpstreamTls> = {}): UpstreamTls {
  return { minVersion: '1.2', maxVersion: '1.3', ...extra };
}

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  httpVersion: string;
  servername?: string;
  clientCertSubject?: string;
  body: string;
}

export interface Backend {
  port: number;
  address: string;
  seen: Seen[];
  name: string;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

function defaultHandler(name: string): Handler {
  return (_req, res, seen) => {
    const body = JSON.stringify({ backend: name, ...seen });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
    res.end(body);
  };
}

function record(req: http.IncomingMessage, seenList: Seen[], then: (s: Seen) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const sock = req.socket as tls.TLSSocket;
    const s: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      httpVersion: req.httpVersion,
      body: Buffer.concat(chunks).toString(),
    };
    if (sock.encrypted) {
      const sn = (sock as tls.TLSSocket & { servername?: string | false }).servername;
      if (sn) s.servername = sn;
      const peer = sock.getPeerCertificate();
      if (peer && peer.subject) s.clientCertSubject = peer.subject.CN as string;
    }
    seenList.push(s);
    then(s);
  });
}

function trackClose(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}

/** A plain HTTP/1.1 backend that answers with what it saw. */
export async function httpBackend(name = 'b', handler?: Handler): Promise<Backend> {
  const seen: Seen[] = [];
  const h = handler ?? defaultHandler(name);
  const server = http.createServer((req, res) => record(req, seen, (s) => h(req, res, s)));
  const close = trackClose(server);
  const port = await listen(server);
  return { port, address: '127.0.0.1', seen, name, close };
}

/** HTTPS (HTTP/1.1 only) backend; optionally asks for a client certificate. */
export async function httpsBackend(
  name: string,
  cert: { certPem: string; keyPem: string; chainPem?: string },
  opts: { requestClientCertCa?: string; handler?: Handler } = {},
): Promise<Backend> {
  const seen: Seen[] = [];
  const h = opts.handler ?? defaultHandler(name);
  const server = https.createServer(
    {
      cert: cert.certPem + (cert.chainPem ?? ''),
      key: cert.keyPem,
      ...(opts.requestClientCertCa ? { requestCert: true, rejectUnauthorized: true, ca: opts.requestClientCertCa } : {}),
    },
    (req, res) => record(req, seen, (s) => h(req, res, s)),
  );
  const close = trackClose(server);
  const port = await listen(server);
  return { port, address: '127.0.0.1', seen, name, close };
}

/** HTTP/2 backend: TLS + ALPN h2 when cert is given, else h2c (prior knowledge). */
export async function h2Backend(name: string, cert?: { certPem: string; keyPem: string }): Promise<Backend> {
  const seen: Seen[] = [];
  const onRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method,
        url: req.url,
        headers: req.headers as http.IncomingHttpHeaders,
        httpVersion: req.httpVersion,
        body: Buffer.concat(chunks).toString(),
      };
      const sock = req.stream.session?.socket as tls.TLSSocket | undefined;
      const sn = (sock as (tls.TLSSocket & { servername?: string | false }) | undefined)?.servername;
      if (sn) s.servername = sn;
      seen.push(s);
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
      res.end(JSON.stringify({ backend: name, ...s }));
    });
  };
  const server = cert
    ? http2.createSecureServer({ cert: cert.certPem, key: cert.keyPem, ALPNProtocols: ['h2'] }, onRequest)
    : http2.createServer(onRequest);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const port = await listen(server as unknown as net.Server);
  return {
    port,
    address: '127.0.0.1',
    seen,
    name,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function ep(b: { address: string; port: number }): { address: string; port: number } {
  return { address: b.address, port: b.port };
}

export interface Started {
  proxy: ProxyRuntime;
  logs: AccessLogEntry[];
  port(name?: string): number;
  close(): Promise<void>;
}

export async function startProxy(
  cfg: ProxyConfig,
  listeners: Partial<ProxyListenerSpec>[] = [{}],
  extra: Omit<ProxyRuntimeOptions, 'listeners' | 'onAccessLog'> = {},
): Promise<Started> {
  const logs: AccessLogEntry[] = [];
  const specs: ProxyListenerSpec[] = listeners.map((l, i) => ({
    name: l.name ?? (i === 0 ? 'http' : `l${i}`),
    host: '127.0.0.1',
    port: 0,
    tls: false,
    proxyProtocol: false,
    ...l,
  }));
  const proxy = new ProxyRuntime({ listeners: specs, onAccessLog: (e) => logs.push(e), ...extra });
  proxy.apply(cfg);
  await proxy.listen();
  return {
    proxy,
    logs,
    port: (name = specs[0]!.name) => proxy.address(name).port,
    close: () => proxy.close(0),
  };
}

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request with a fresh connection (no agent pooling). */
/** GET `path` on an open HTTP/2 session; resolves with status and body. */
export function h2Get(client: http2.ClientHttp2Session, path: string, authority: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':path': path, ':authority': authority });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

export function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends raw bytes and collects everything until the server closes (or timeout). */
export function raw(port: number, data: Buffer | string | (Buffer | string)[], waitMs = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const t = setTimeout(() => finish(false), waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', () => {
      for (const d of Array.isArray(data) ? data : [data]) s.write(d);
    });
  });
}
