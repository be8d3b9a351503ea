// The "node floor": the smallest honest Node programs for the benchmark's
// cases (bench/floor/), with the process count of isobar. A ceiling
// measurement for isobar on the same Node, not a product: it serves the
// chain, the proxy alone and the load balancer alone, not HTTP/2.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, stop, isRunning } from '../procs.ts';
import { freePorts, waitForPort, LOOPBACK } from '../ports.ts';
import { EDGE_HOST, PLAIN_HOST, WRONG_HOST, BACKEND_NAME } from '../pki.ts';
import { EDGE_TLS13_SUITES } from './tls-policy.ts';
import { nodeCommand } from './isobar.ts';
import type { StartContext, SystemUnderTest, SystemTargets } from '../system.ts';
import type { FloorConfig } from '../../floor/main.ts';

export const FLOOR = 'node floor';
/** The floor with node:http as the proxy-alone case's server (bench/floor/http-forwarder.ts). */
export const FLOOR_HTTP = 'node:http floor';

export async function startFloor(ctx: StartContext, plainServer: 'raw' | 'node:http' = 'raw'): Promise<SystemUnderTest> {
  const name = plainServer === 'raw' ? FLOOR : FLOOR_HTTP;
  const dir = path.join(ctx.workDir, plainServer === 'raw' ? 'floor' : 'floor-http');
  mkdirSync(dir, { recursive: true });
  const [chain, proxyPlain, lbOnly, proxyPp] = (await freePorts(4)) as [number, number, number, number];
  const { pki, backend } = ctx;
  const upstreamTls = { ca: pki.backendCa, servername: BACKEND_NAME, cert: pki.clientCert, key: pki.clientKey };
  const config: FloorConfig = {
    workers: ctx.workers,
    host: LOOPBACK,
    proxy: {
      plainServer,
      plainPort: proxyPlain,
      proxyProtocolPort: proxyPp,
      routes: {
        [PLAIN_HOST]: { host: LOOPBACK, port: backend.plain },
        [EDGE_HOST]: { host: LOOPBACK, port: backend.tls, tls: upstreamTls },
        [WRONG_HOST]: { host: LOOPBACK, port: backend.wrong, tls: upstreamTls },
      },
    },
    lb: { chainPort: chain, lbOnlyPort: lbOnly, cert: pki.edgeCert, key: pki.edgeKey, ciphers: `${EDGE_TLS13_SUITES}:DEFAULT`, backendPlainPort: backend.plain },
  };
  const file = path.join(dir, 'floor.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const main = path.resolve(import.meta.dirname, '..', '..', 'floor', 'main.ts');
  const proc = startServer(name, ...nodeCommand(ctx, [main, file]), path.join(dir, 'floor.log'));
  const startMs = ctx.wrap?.startTimeoutMs ?? 20_000;
  for (const port of [chain, proxyPlain, lbOnly, proxyPp]) await waitForPort(port, startMs, name, () => isRunning(proc));
  // No HTTP/2: the h2 case is not measured for the floor.
  const targets: SystemTargets = { chain, proxyPlain, lbOnly };
  return { name, targets, rootPid: proc.pid, stop: () => stop(proc) };
}
