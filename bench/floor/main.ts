// The "node floor" systems of the benchmark (bench/README.md): one primary
// that forks `workers` TLS terminator processes and `workers` HTTP/1.1
// forwarder processes, each listening on the same ports with SO_REUSEPORT,
// the process layout of `isobar serve --workers N`.
//
//   node bench/floor/main.ts CONFIG.json            the primary
//   node bench/floor/main.ts CONFIG.json lb|proxy   one worker (forked by the primary)

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import { serveConnection, type Upstream } from './forwarder.ts';
import { serveHttpRequests } from './http-forwarder.ts';
import { terminate } from './terminator.ts';

export interface FloorConfig {
  workers: number;
  host: string;
  /** plain HTTP in (proxyPlain) and PROXY v2 + HTTP in (behind the terminator);
   *  `plainServer` 'node:http': the plain port's requests parsed and answered by node:http */
  proxy: { plainServer?: 'raw' | 'node:http'; plainPort: number; proxyProtocolPort: number; routes: Record<string, Omit<Upstream, 'name' | 'tls'> & { tls?: { ca: string; servername: string; cert: string; key: string } }> };
  /** TLS in: the chain (PROXY v2 to the forwarder) and the LB alone (plain to the backend) */
  lb: { chainPort: number; lbOnlyPort: number; cert: string; key: string; ciphers: string; backendPlainPort: number };
}

const [configPath, role] = process.argv.slice(2);
if (!configPath) throw new Error('usage: node bench/floor/main.ts CONFIG.json [lb|proxy]');
const config = JSON.parse(readFileSync(configPath, 'utf8')) as FloorConfig;

function listen(server: net.Server, port: number): void {
  server.listen({ host: config.host, port, reusePort: true });
}

if (role === 'proxy') {
  const routes = new Map<string, Upstream>();
  for (const [host, u] of Object.entries(config.proxy.routes)) {
    const t = u.tls;
    routes.set(host, {
      name: host,
      host: u.host,
      port: u.port,
      ...(t ? { tls: { ca: readFileSync(t.ca), servername: t.servername, cert: readFileSync(t.cert), key: readFileSync(t.key) } } : {}),
    });
  }
  if (config.proxy.plainServer === 'node:http') {
    const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 });
    serveHttpRequests(server, routes);
    listen(server, config.proxy.plainPort);
  } else listen(net.createServer({ noDelay: true }, (s) => serveConnection(s, routes, false)), config.proxy.plainPort);
  listen(net.createServer({ noDelay: true }, (s) => serveConnection(s, routes, true)), config.proxy.proxyProtocolPort);
  process.on('disconnect', () => process.exit(0));
} else if (role === 'lb') {
  const tlsServer = () =>
    tls.createServer({ cert: readFileSync(config.lb.cert), key: readFileSync(config.lb.key), minVersion: 'TLSv1.2', ciphers: config.lb.ciphers, honorCipherOrder: true });
  const chain = tlsServer();
  terminate(chain, { host: config.host, port: config.proxy.proxyProtocolPort, proxyProtocol: true });
  listen(chain, config.lb.chainPort);
  const lbOnly = tlsServer();
  terminate(lbOnly, { host: config.host, port: config.lb.backendPlainPort, proxyProtocol: false });
  listen(lbOnly, config.lb.lbOnlyPort);
  process.on('disconnect', () => process.exit(0));
} else {
  const children: ChildProcess[] = [];
  for (let i = 0; i < config.workers; i++) for (const r of ['lb', 'proxy']) children.push(fork(import.meta.filename, [configPath, r]));
  const stop = () => {
    for (const c of children) c.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (const c of children) c.once('exit', (code) => {
    process.stderr.write(`node floor: a worker exited (${code}); stopping\n`);
    stop();
  });
}
