// Shared pieces for balancer tests: listener configs, a key provider over
// test certificates, and target servers that record what they receive.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { parseProxyHeader, type ProxyHeader } from '../../src/proxyprotocol/index.ts';
import type { BalancerConfig, BalancerListener, EdgeCertificate, HealthCheckConfig } from '../../src/balancer/index.ts';
import { lookupPolicy, DEFAULT_POLICY } from '../../src/balancer/index.ts';
import type { Issued } from '../support/pki.ts';

let arnSeq = 0;
export function newArn(): string {
  arnSeq++;
  return `arn:aws:acm:local:000000000000:certificate/00000000-0000-4000-8000-${String(arnSeq).padStart(12, '0')}`;
}

export interface TestCert {
  edge: EdgeCertificate;
  keyPem: string;
}

export function edgeCertificate(issued: Issued, domains: string[], arn = newArn()): TestCert {
  const x = new X509Certificate(issued.certPem);
  return {
    edge: { arn, certPem: issued.certPem, chainPem: '', domains, notAfter: new Date(x.validTo).toISOString() },
    keyPem: issued.keyPem,
  };
}

export function keyProvider(certs: TestCert[]) {
  const keys = new Map(certs.map((c) => [c.edge.arn, c.keyPem]));
  return {
    reads: 0,
    async readPrivateKey(arn: string): Promise<string> {
      this.reads++;
      const k = keys.get(arn);
      if (!k) throw new Error(`no certificate ${arn}`);
      return k;
    },
    set(arn: string, key: string) {
      keys.set(arn, key);
    },
  };
}

export const fastHealthCheck: HealthCheckConfig = {
  protocol: 'TCP',
  port: 'traffic-port',
  path: '/',
  intervalMs: 50,
  timeoutMs: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  successCodes: '200-399',
};

export function listener(over: Partial<BalancerListener> & { targets: BalancerListener['targets'] }): BalancerListener {
  return {
    id: 'default/web:443',
    servicePort: 443,
    bindAddress: '127.0.0.1',
    bindPort: 0,
    protocol: 'TCP',
    targetProtocol: 'TCP',
    proxyProtocol: false,
    proxyProtocolTlvs: [],
    healthCheck: { ...fastHealthCheck, intervalMs: 60_000 },
    deregistrationDelayMs: 0,
    idleTimeoutMs: 350_000,
    preserveClientIp: false,
    targetSelection: 'flow-hash',
    sourceRanges: ['0.0.0.0/0', '::/0'],
    ...over,
  };
}

export function tlsOf(certs: TestCert[], policyName = DEFAULT_POLICY, alpn: string[] | null = null): BalancerListener['tls'] {
  const policy = lookupPolicy(policyName);
  if (!policy) throw new Error(`unknown policy ${policyName}`);
  return { certificates: certs.map((c) => c.edge), policy, alpn };
}

export function configOf(...listeners: BalancerListener[]): BalancerConfig {
  return {
    loadBalancers: [{ namespace: 'default', name: 'web', hostname: 'h', scheme: 'internal', listeners }],
  };
}

export interface Received {
  header?: ProxyHeader;
  /** The header exactly as it came off the wire. */
  headerBytes?: Buffer;
  socket: Socket;
}

/** A target that (optionally) strips a PROXY header, greets with its name
 *  and echoes everything after. */
/** A target that greets each connection with its name and echoes; with
 *  `proxy`, after reading a PROXY header. `path`: on a Unix socket instead. */
export async function startTarget(name: string, o: { proxy?: boolean; port?: number; path?: string } = {}) {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const rec: Received = { socket };
    received.push(rec);
    if (!o.proxy) {
      socket.write(`hello from ${name}\n`);
      socket.pipe(socket);
      return;
    }
    let acc: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      acc = Buffer.concat([acc, chunk]);
      let r;
      try {
        r = parseProxyHeader(acc);
      } catch {
        socket.destroy();
        return;
      }
      if (r.kind === 'incomplete') return;
      socket.off('data', onData);
      rec.header = r.header;
      rec.headerBytes = acc.subarray(0, r.length);
      const rest = acc.subarray(r.length);
      socket.write(`hello from ${name}\n`);
      if (rest.length) socket.write(rest);
      socket.pipe(socket);
    };
    socket.on('data', onData);
  });
  if (o.path !== undefined) server.listen(o.path);
  else server.listen(o.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = o.path !== undefined ? 0 : (server.address() as { port: number }).port;
  return {
    name,
    port,
    path: o.path,
    received,
    target: { kind: 'endpoint' as const, address: '127.0.0.1', port },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Reads from a socket until `predicate(text)` holds; returns the text. */
export function readUntil(s: Socket, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (c: Buffer) => {
      text += c.toString('utf8');
      if (predicate(text)) {
        cleanup();
        resolve(text);
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new Error(`stream ended after ${JSON.stringify(text)}`));
    };
    const cleanup = () => {
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('close', onEnd);
      s.off('error', onEnd);
    };
    s.on('data', onData);
    s.on('end', onEnd);
    s.on('close', onEnd);
    s.on('error', onEnd);
  });
}

export async function tcpConnect(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  return s;
}

export { waitFor } from '../support/wait.ts';
