// What one balancer -> proxy hop costs over loopback TCP and over a Unix
// domain socket: 32 connections in one process, each sending a 120-byte
// "request" and getting a 100-byte "response" back, one at a time (the
// shape of a keep-alive chain request), CPU time (user + system) of the
// process per 1,000 round trips, the transports alternating. Both ends are
// in this process, so both ends' work counts, as the balancer's and the
// proxy's would. `node bench/hop-cost.ts [round trips per run] [runs]`.

import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const REQUEST = Buffer.alloc(120, 'q');
const RESPONSE = Buffer.alloc(100, 'r');
const CONNECTIONS = 32;

function server(): net.Server {
  return net.createServer({ noDelay: true }, (s) => {
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      while (got >= REQUEST.length) {
        got -= REQUEST.length;
        s.write(RESPONSE);
      }
    });
  });
}

async function roundTrips(connect: () => net.Socket, total: number): Promise<void> {
  let left = total;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, () => new Promise<void>((resolve, reject) => {
      const s = connect();
      let got = 0;
      s.on('error', reject);
      s.on('connect', () => {
        left--;
        s.write(REQUEST);
      });
      s.on('data', (c: Buffer) => {
        got += c.length;
        if (got < RESPONSE.length) return;
        got -= RESPONSE.length;
        if (left <= 0) {
          s.destroy();
          resolve();
          return;
        }
        left--;
        s.write(REQUEST);
      });
    })),
  );
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 50_000);
  const runs = Number(process.argv[3] ?? 5);
  const dir = mkdtempSync(path.join(tmpdir(), 'isobar-hop-'));
  const file = path.join(dir, 'hop.sock');
  const tcp = server();
  const unix = server();
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => unix.listen(file, r));
  const port = (tcp.address() as net.AddressInfo).port;
  const transports: [string, () => net.Socket][] = [
    ['loopback TCP', () => net.connect({ host: '127.0.0.1', port, noDelay: true })],
    ['Unix socket', () => net.connect({ path: file })],
  ];
  const results = new Map<string, number[]>(transports.map(([k]) => [k, []]));
  // Warm-up, not counted.
  for (const [, c] of transports) await roundTrips(c, 5_000);
  for (let i = 0; i < runs; i++) {
    for (const [name, c] of transports) {
      const before = process.cpuUsage();
      await roundTrips(c, n);
      const d = process.cpuUsage(before);
      results.get(name)!.push((d.user + d.system) / 1000 / (n / 1000));
    }
  }
  tcp.close();
  unix.close();
  rmSync(dir, { recursive: true, force: true });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  for (const [name, xs] of results) {
    process.stdout.write(`${name.padEnd(13)} CPU ms / 1,000 round trips: median ${median(xs).toFixed(1)}, runs ${xs.map((x) => x.toFixed(1)).join(' ')}\n`);
  }
  const tcpRuns = results.get('loopback TCP')!;
  const ratios = results.get('Unix socket')!.map((u, i) => u / tcpRuns[i]!);
  process.stdout.write(`Unix / TCP per run: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${median(ratios).toFixed(2)}\n`);
}

await main();
