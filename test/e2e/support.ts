// Helpers for end-to-end runs: free ports, starting `isobar serve` as a real
// child process, waiting for readiness, and HTTPS requests that pin SNI and
// the CA the way curl --resolve / --cacert do.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import type { TLSSocket } from 'node:tls';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { QuickstartFiles } from '../../scripts/quickstart-lib.ts';
import { FQDN } from '../../scripts/quickstart-lib.ts';
import { startDemoBackend } from '../../src/demo/backend.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../bin/isobar.js', import.meta.url));

/** A backend for drain tests: /quick is answered at once, any other request
 *  is held (arrived() turns true) until release() answers it "finished". */
export interface SlowBackend {
  port: number;
  arrived(): boolean;
  release(): void;
  close(): void;
}

export async function slowBackend(): Promise<SlowBackend> {
  let release: () => void = () => {};
  let arrived = false;
  const server = http.createServer((req, res) => {
    if (req.url === '/quick') return void res.end('quick\n');
    arrived = true;
    release = () => res.end('finished\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    arrived: () => arrived,
    release: () => release(),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

// Ports for a test's servers come from below Linux's ephemeral range
// (32768-60999, net.ipv4.ip_local_port_range), which is where the kernel
// takes the ports of every listen(0) and outgoing connection: a port that
// was free when it was picked could otherwise go to another test file's
// socket (the suite runs two files at a time) before the server it was
// picked for binds it, and that server's start fails with EADDRINUSE.
const PICK_LOW = 10000;
const PICK_HIGH = 32768;

// Two test files picking at random in that range can still pick the same
// free port before either binds it (seen: a serve's start failing with
// EADDRINUSE on a port another file had just been given). So a port is
// claimed first, for this process's lifetime, by a file in one folder all
// test processes share, created only if absent; a claim left by a process
// that is gone is taken over.
const CLAIMS = join(tmpdir(), 'isobar-test-ports');
const claimed = new Set<string>();
let cleanupSet = false;

function claim(port: number): boolean {
  const file = join(CLAIMS, String(port));
  if (claimed.has(file)) return false;
  mkdirSync(CLAIMS, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      claimed.add(file);
      if (!cleanupSet) {
        cleanupSet = true;
        process.once('exit', () => {
          for (const f of claimed) rmSync(f, { force: true });
        });
      }
      return true;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(file, 'utf8'));
      } catch {
        // released meanwhile: try again
      }
      if (holder > 0 && alive(holder)) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A port no other test process has been given, and free now. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = PICK_LOW + Math.floor(Math.random() * (PICK_HIGH - PICK_LOW));
    if (!claim(port)) continue;
    if (await isFree(port)) return port;
  }
}

/** Direct children of `pid` whose command line contains `entry` (from
 *  /proc): serve's worker processes, e.g. 'proxy-worker'. */
export function workerPids(pid: number, entry: string): number[] {
  let list: number[];
  try {
    list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return list.filter((c) => {
    try {
      return readFileSync(`/proc/${c}/cmdline`, 'utf8').includes(entry);
    } catch {
      return false;
    }
  });
}

/** The Service `default/app` (port 80) and its Endpoints at 127.0.0.1:`port`,
 *  as manifests for a test's HTTPProxy to route to. */
export function appService(port: number): string {
  return `apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec:
  ports: [{port: 80, targetPort: ${port}}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: app, namespace: default}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{port: ${port}}]}]
`;
}

/** An HTTPProxy `default/app` for `fqdn` with `routes` (YAML list items,
 *  indented four spaces), by default one route to the Service `app`. */
export function appProxy(fqdn: string, routes = '    - services: [{name: app, port: 80}]\n'): string {
  return `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: app, namespace: default}
spec:
  virtualhost: {fqdn: ${fqdn}}
  routes:
${routes}`;
}

/** An offset N such that every P+N for the given ports is free, all of
 *  them below the ephemeral range (as freePort). */
export async function freeOffset(ports: number[]): Promise<number> {
  const span = PICK_HIGH - PICK_LOW - Math.max(...ports);
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = PICK_LOW + Math.floor(Math.random() * span);
    if (!ports.every((p) => claim(p + offset))) continue;
    const ok = await Promise.all(ports.map((p) => isFree(p + offset)));
    if (ok.every(Boolean)) return offset;
  }
  throw new Error('no free port offset found');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface ServeProcess {
  child: ChildProcess;
  output: () => string;
  adminPort: number;
  stop(): Promise<number | null>;
}

/** `whileStarting` runs as soon as the process is spawned, alongside the
 *  wait for readiness (to act in the middle of start-up). */
export async function startServe(args: string[], adminPort: number, whileStarting?: (output: () => string) => Promise<void>, readyWithinMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--admin-port', String(adminPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ISOBAR_LOG_LEVEL: process.env.ISOBAR_LOG_LEVEL ?? 'info' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: ServeProcess = {
    child,
    output: () => out,
    adminPort,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  const hook = whileStarting?.(() => out);
  const deadline = Date.now() + readyWithinMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`isobar serve exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
      if (res.status === 200) {
        await hook;
        return proc;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error(`isobar serve not ready within ${readyWithinMs / 1000} s:\n${out}`);
}

export interface HttpsAnswer {
  status: number;
  body: string;
  localPort: number;
  peerFingerprint: string;
}

/** GET https://host:port/path with SNI = host (or `servername`), trusting
 *  only `ca`, against 127.0.0.1 (curl --resolve host:port:127.0.0.1 --cacert ca). */
export function httpsGet(o: { host: string; port: number; path?: string; ca: string; agent?: https.Agent; servername?: string }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: o.port,
        path: o.path ?? '/',
        servername: o.servername ?? o.host,
        headers: { host: `${o.host}:${o.port}` },
        ca: o.ca,
        agent: o.agent ?? false,
        // Node's default identity check runs against servername; a custom
        // checkServerIdentity would also stop the agent from reusing sockets.
      },
      (res) => {
        // Read the socket now: a keep-alive agent takes it back at 'end'.
        const socket = res.socket as TLSSocket;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body,
            localPort: socket.localPort ?? 0,
            peerFingerprint: socket.getPeerCertificate?.()?.fingerprint256 ?? '',
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

export { waitFor } from '../support/wait.ts';

/** The walkthrough's backend: TLS with the backend certificate, and a
 *  client certificate from the client CA required. */
export async function startSecureBackend(files: QuickstartFiles, port: number): ReturnType<typeof startDemoBackend> {
  return startDemoBackend({
    host: '127.0.0.1',
    port,
    name: 'secure-backend',
    tls: {
      certPem: await readFile(files.backendCert, 'utf8'),
      keyPem: await readFile(files.backendKey, 'utf8'),
      caPem: await readFile(files.clientCa, 'utf8'),
      requireClientCert: true,
    },
  });
}

export interface EdgeAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request through the balancer to `host` (the quickstart's by
 *  default): HTTPS on `port` trusting `ca`, or plain HTTP with `plain`;
 *  from the loopback address `from` when given. A connection of its own. */
export function edgeCall(o: { port: number; ca: string; from?: string; host?: string; path?: string; method?: string; headers?: Record<string, string>; plain?: boolean }): Promise<EdgeAnswer> {
  const host = o.host ?? FQDN;
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port: o.port, localAddress: o.from, path: o.path ?? '/', method: o.method ?? 'GET', headers: { host, ...o.headers }, agent: false };
    const done = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    };
    const req = o.plain ? http.request(opts, done) : https.request({ ...opts, servername: host, ca: o.ca }, done);
    req.on('error', reject);
    req.end();
  });
}

/** `isobar serve` of prepared (and possibly edited) quickstart files with one
 *  worker of each kind, load balancer ports offset by `offset`, every other
 *  port free. */
export async function startQuickstartServe(files: QuickstartFiles, offset: number): Promise<ServeProcess> {
  return startServe(
    [files.manifests, '--config', files.config, '--state-dir', files.stateDir, '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--workers', '1'],
    await freePort(),
  );
}
