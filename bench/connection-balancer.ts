// What listener.connection-balancer: exact costs: `isobar serve --roles
// dag,proxy --workers 2` with and without it, alternating in the same
// rounds, against the benchmark's nginx backend (plain HTTP, /64). Two
// wrk loads: keep-alive (the hand-off happens once per connection, so this
// should not move) and a new connection per request (`Connection: close`:
// every request pays the primary's accept and hand-off). Reported per case:
// requests/s, and CPU of the primary and of the whole serve tree per 1,000
// requests (schedstat). `node bench/connection-balancer.ts [--rounds N] [--seconds S]`.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setup, WORK_DIR } from './setup.ts';
import { startBackend } from './lib/backend.ts';
import { runWrk, type LoadResult } from './lib/load.ts';
import { cpuNs, startServer, stop, stopAll, isRunning, processTree, type Managed } from './lib/procs.ts';
import { freePorts, waitForPort } from './lib/ports.ts';
import * as isobar from './lib/peers/isobar.ts';
import { backendYaml, proxyYaml } from './lib/httpproxies.ts';
import { machineDetails, median } from './lib/report.ts';

const HOST = 'balance.example.test';
const MODES = ['default', 'exact'] as const;
type Mode = (typeof MODES)[number];
const CASES = [
  { name: 'keep-alive', headers: [] as string[] },
  { name: 'new connection per request', headers: ['Connection: close'] },
];

interface Sample {
  rps: number;
  primaryUsPerK: number;
  treeUsPerK: number;
  errors: number;
}

const log = (s: string) => process.stderr.write(s + '\n');

async function startIsobar(mode: Mode, plainPort: number, dir: string): Promise<{ proc: Managed; httpPort: number }> {
  rmSync(dir, { recursive: true, force: true });
  const manifests = path.join(dir, 'manifests');
  const stateDir = path.join(dir, 'state');
  mkdirSync(manifests, { recursive: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(manifests, 'backend.yaml'), backendYaml(plainPort) + proxyYaml('balance', HOST));
  const config = path.join(dir, 'isobar.yaml');
  writeFileSync(config, mode === 'exact' ? 'listener:\n  connection-balancer: exact\n' : '');
  const [httpPort, httpsPort, adminPort] = (await freePorts(3)) as [number, number, number];
  const args = [
    isobar.ISOBAR, 'serve', manifests, '--config', config, '--roles', 'dag,proxy', '--state-dir', stateDir, '--http-port', String(httpPort),
    '--https-port', String(httpsPort), '--admin-port', String(adminPort), '--workers', '2', '--no-access-log',
  ];
  const proc = startServer(`isobar serve (${mode})`, isobar.NODE, args, path.join(dir, 'serve.log'));
  await waitForPort(httpPort, 60_000, 'isobar serve', () => isRunning(proc));
  // Serving the route (not only listening): the first config applied.
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${httpPort}/64`, { headers: { host: HOST } }).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, httpPort };
}

function treeCpu(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + (cpuNs(pid) ?? 0), 0);
}

async function measure(proc: Managed, httpPort: number, headers: string[], seconds: number): Promise<Sample> {
  const p0 = cpuNs(proc.pid) ?? 0;
  const t0 = treeCpu(proc.pid);
  const r: LoadResult = await runWrk(`http://127.0.0.1:${httpPort}/64`, { threads: 2, connections: 16, durationS: seconds, h2Streams: 1 }, [`Host: ${HOST}`, ...headers]);
  const p1 = cpuNs(proc.pid) ?? 0;
  const t1 = treeCpu(proc.pid);
  const perK = (ns: number): number => ns / 1000 / (r.requests / 1000);
  return { rps: r.rps, primaryUsPerK: perK(p1 - p0), treeUsPerK: perK(t1 - t0), errors: r.errors };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, seconds: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 3);
  const seconds = Number(values.seconds ?? 10);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(seconds) || seconds < 1) {
    process.stderr.write('usage: node bench/connection-balancer.ts [--rounds N] [--seconds S]\n');
    process.exit(2);
  }
  const why = await isobar.isobarServeAvailable();
  if (why) throw new Error(`cannot run isobar serve: ${why}`);
  const pki = await setup();
  const runDir = path.join(WORK_DIR, 'connection-balancer');
  mkdirSync(runDir, { recursive: true });
  const backend = await startBackend(runDir, pki, 1);
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < rounds; round++) {
    // Alternate which mode goes first, so a drift in the machine's load hits both.
    for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
      const { proc, httpPort } = await startIsobar(mode, backend.ports.plain, path.join(runDir, mode));
      try {
        for (const c of CASES) {
          await measure(proc, httpPort, c.headers, 2); // warm-up
          const s = await measure(proc, httpPort, c.headers, seconds);
          log(`round ${round + 1} ${mode} ${c.name}: ${s.rps.toFixed(0)} req/s, primary ${s.primaryUsPerK.toFixed(0)} us/1k, serve ${s.treeUsPerK.toFixed(0)} us/1k, errors ${s.errors}`);
          const key = `${c.name}|${mode}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
        }
      } finally {
        await stop(proc);
      }
    }
  }
  const lines = [
    `# listener.connection-balancer: exact against the default, ${new Date().toISOString().slice(0, 10)}`,
    '',
    ...[...(await machineDetails(isobar.NODE)), `isobar: ${await isobar.isobarVersion()}`].map((m) => `- ${m}`),
    '',
    `Method: \`isobar serve --roles dag,proxy --workers 2\`, nginx backend (/64), wrk -t2 -c16 -d${seconds}s, the two modes alternating, ${rounds} rounds, medians.`,
    'CPU from every thread\'s schedstat: the primary alone, and the whole serve process tree (primary and workers), per 1,000 requests.',
    '',
    '| case | mode | req/s | primary CPU (ms / 1k req) | serve CPU (ms / 1k req) | errors |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const c of CASES) {
    for (const mode of MODES) {
      const s = samples.get(`${c.name}|${mode}`) ?? [];
      lines.push(
        `| ${c.name} | ${mode} | ${median(s.map((x) => x.rps)).toFixed(0)} | ${(median(s.map((x) => x.primaryUsPerK)) / 1000).toFixed(2)} | ${(median(s.map((x) => x.treeUsPerK)) / 1000).toFixed(1)} | ${s.reduce((a, x) => a + x.errors, 0)} |`,
      );
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main()
  .catch((err: Error) => {
    process.stderr.write(`connection-balancer: ${err.message}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
