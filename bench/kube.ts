// `node bench/kube.ts`: Kubernetes mode latency. The test API server runs in
// its own process; this process runs isobar's pipeline as `serve --kubernetes`
// wires it (KubeSource -> dag.build -> proxy runtime + StatusWriter, default
// rate limit 300 QPS / burst 600). For each count N it measures, with real
// kubectl:
//   bulk:   `kubectl apply` of N HTTPProxies -> last one served / all N statuses written
//   single: with N present, `kubectl apply` of one more -> served / status written
// and, separately, status write-back alone: N HTTPProxies changing at once.
// With --serve the system under test is a real `isobar serve --kubernetes`
// process instead (one proxy worker); statuses are then observed through a
// watch from this process, and the write-back column is left out.
// Traffic goes to 127.0.0.1 only.

import http from 'node:http';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs, promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { ObjectCache } from '../src/objects/index.ts';
import { KubeSource, ApiClient, loadKubeConfig, StatusWriter } from '../src/kube/index.ts';
import { build } from '../src/dag/index.ts';
import { ProxyRuntime } from '../src/proxy/index.ts';
import { defaultConfig } from '../src/config/index.ts';
import { freePorts, waitForPort } from './lib/ports.ts';

const SELF = fileURLToPath(import.meta.url);
const run = promisify(execFile);
const log = (s: string) => process.stderr.write(s + '\n');

const { values: args } = parseArgs({
  options: {
    counts: { type: 'string', default: '100,5000' },
    'serve-api': { type: 'boolean', default: false },
    qps: { type: 'string' },
    burst: { type: 'string' },
    serve: { type: 'boolean', default: false },
  },
});

if (args['serve-api']) {
  // Child mode: the API server, in its own process like a real one.
  const { createCa } = await import('../test/support/pki.ts');
  const { TestApiServer } = await import('../test/kube/apiserver.ts');
  const ca = await createCa();
  const leaf = await ca.issue({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const api = new TestApiServer({ tls: { certPem: leaf.certPem, keyPem: leaf.keyPem, caPem: ca.certPem }, historyLimit: 200_000 });
  await api.start();
  process.stdout.write(api.kubeconfig() + '\n');
  process.on('SIGTERM', () => void api.stop().then(() => process.exit(0)));
} else {
  await main();
}

async function startApiProcess(): Promise<{ kubeconfig: string; stop: () => void }> {
  const child = spawn(process.execPath, [SELF, '--serve-api'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`API server exited (${code})`)));
  });
  return { kubeconfig: line.trim(), stop: () => child.kill('SIGTERM') };
}

function proxyYaml(name: string, ns = 'bench'): string {
  return `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  virtualhost:
    fqdn: ${name}.bench.test
  routes:
  - conditions:
    - prefix: /
    services:
    - name: backend
      port: 80
`;
}

function probe(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

async function until(what: string, f: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 5): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await f()) return performance.now();
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function main(): Promise<void> {
  const counts = args.counts!.split(',').map(Number);
  const rows: string[] = [];
  for (const n of counts) {
    log(`\n== ${n} HTTPProxies ==`);
    const r = await measure(n);
    rows.push(`| ${n} | ${r.kubectl} | ${r.served} | ${r.status} | ${r.singleServed} | ${r.singleStatus} | ${r.writeback} |`);
  }
  const table = [
    '| HTTPProxies | bulk: kubectl apply done | bulk: last served | bulk: all statuses | one more: served | one more: status | write-back only |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  const what = args.serve ? 'isobar serve --kubernetes (one proxy worker)' : 'in-process pipeline (KubeSource -> dag.build -> proxy runtime + StatusWriter)';
  process.stdout.write(`\n${what}. Times in ms from the start of \`kubectl apply\` (write-back only: from StatusWriter.write() of N changed statuses to the last one stored).\nStatus writes at ${args.serve ? '300' : (args.qps ?? 300)} QPS / burst ${args.serve ? '600' : (args.burst ?? 600)}.\n\n${table}\n`);
}

async function measure(n: number) {
  const api = await startApiProcess();
  const backend = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  const cache = new ObjectCache();
  // In-process: this source feeds the pipeline. With --serve: it only
  // observes statuses (the serve process has its own).
  const source = new KubeSource(cache, { kubeconfig: api.kubeconfig });
  const client = new ApiClient(loadKubeConfig(api.kubeconfig));
  const writer = new StatusWriter({
    client,
    qps: args.qps ? Number(args.qps) : undefined,
    burst: args.burst ? Number(args.burst) : undefined,
    observedStatus: (k, ns, name) => source.observedStatus(k, ns, name),
  });
  let port: number;
  let proxy: ProxyRuntime | undefined;
  let serveChild: ReturnType<typeof spawn> | undefined;
  const config = defaultConfig();
  let builds = 0;
  let buildMs = 0;
  if (args.serve) {
    const [httpPort, httpsPort, adminPort] = await freePorts(3);
    port = httpPort!;
    serveChild = spawn(
      process.execPath,
      [fileURLToPath(new URL('../bin/isobar.js', import.meta.url)), 'serve', '--kubernetes', '--kubeconfig', api.kubeconfig, '--roles', 'dag,proxy',
        '--workers', '1', '--http-port', String(httpPort), '--https-port', String(httpsPort), '--admin-port', String(adminPort),
        '--state-dir', mkdtempSync(join(tmpdir(), 'isobar-bench-state-')), '--no-access-log'],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ISOBAR_LOG_LEVEL: 'warn' } },
    );
    await waitForPort(httpPort!, 30_000, 'isobar serve --kubernetes', () => serveChild!.exitCode === null);
  } else {
    proxy = new ProxyRuntime({ listeners: [{ name: 'http', host: '127.0.0.1', port: 0, tls: false, proxyProtocol: false }] });
    await proxy.listen();
    port = proxy.address('http').port;
    source.on('change', () => {
      const b0 = performance.now();
      const out = build(cache.snapshot(), config);
      buildMs += performance.now() - b0;
      proxy!.apply(out.proxyConfig);
      writer.write(out.statuses, []);
      builds++;
    });
    writer.setLeader(true);
  }
  source.on('problem', (m: { message: string }) => log(`problem: ${m.message}`));
  const dir = mkdtempSync(join(tmpdir(), 'isobar-bench-kube-'));
  const kubectl = async (file: string) => {
    await run('kubectl', ['--kubeconfig', api.kubeconfig, 'apply', '--validate=false', '-f', file], { maxBuffer: 64 << 20, timeout: 600_000 });
  };
  // Statuses as the API server reports them back through the watch (a
  // full list every poll would load both processes more than isobar does).
  const statusCount = (): number => {
    let k = 0;
    for (let i = 0; i < n; i++) if ((source.observedStatus('HTTPProxy', 'bench', `p${i}`) as { currentStatus?: string } | undefined)?.currentStatus === 'valid') k++;
    return k;
  };
  try {
    await source.start();
    await until('ready', () => source.ready(), 30_000);
    const base = join(dir, 'base.yaml');
    writeFileSync(
      base,
      `apiVersion: v1
kind: Service
metadata: {name: backend, namespace: bench}
spec:
  ports: [{port: 80, targetPort: ${backendPort}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-1
  namespace: bench
  labels: {kubernetes.io/service-name: backend}
addressType: IPv4
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
ports: [{port: ${backendPort}, protocol: TCP}]
`,
    );
    await kubectl(base);
    const bulk = join(dir, 'bulk.yaml');
    writeFileSync(bulk, Array.from({ length: n }, (_, i) => proxyYaml(`p${i}`)).join('---\n'));

    // Bulk: N HTTPProxies in one kubectl apply.
    const t0 = performance.now();
    const applied = kubectl(bulk).then(() => performance.now());
    const served = until('last served', async () => (await probe(port, `p${n - 1}.bench.test`)) === 200, 600_000, 20);
    const statused = until('all statuses', () => statusCount() === n, 600_000, 100);
    const [tk, ts, tst] = await Promise.all([applied, served, statused]);
    log(`bulk: kubectl ${(tk - t0).toFixed(0)} ms, served ${(ts - t0).toFixed(0)} ms, statuses ${(tst - t0).toFixed(0)} ms, builds ${builds} (${buildMs.toFixed(0)} ms building)`);

    // Single: one more on top of N.
    const one = join(dir, 'one.yaml');
    writeFileSync(one, proxyYaml('extra'));
    await writer.idle();
    const t1 = performance.now();
    await kubectl(one);
    const ts1 = await until('extra served', async () => (await probe(port, 'extra.bench.test')) === 200, 60_000, 2);
    const tst1 = await until('extra status', () => (source.observedStatus('HTTPProxy', 'bench', 'extra') as { currentStatus?: string } | undefined)?.currentStatus === 'valid', 60_000, 2);
    log(`single: served ${(ts1 - t1).toFixed(0)} ms, status ${(tst1 - t1).toFixed(0)} ms`);

    if (args.serve) {
      return { kubectl: (tk - t0).toFixed(0), served: (ts - t0).toFixed(0), status: (tst - t0).toFixed(0), singleServed: (ts1 - t1).toFixed(0), singleStatus: (tst1 - t1).toFixed(0), writeback: '-' };
    }
    // Write-back alone: every status changes at once (e.g. a Service they all use disappears).
    await writer.idle();
    const statuses = build(cache.snapshot(), config).statuses.map((s) => ({ ...s, description: `${s.description} (bench)` }));
    const t2 = performance.now();
    writer.write(statuses, []);
    await writer.idle();
    const tw = performance.now();
    log(`write-back: ${statuses.length} statuses in ${(tw - t2).toFixed(0)} ms (${writer.stats.conflicts} conflicts, ${writer.stats.failures} failures)`);
    return {
      kubectl: (tk - t0).toFixed(0),
      served: (ts - t0).toFixed(0),
      status: (tst - t0).toFixed(0),
      singleServed: (ts1 - t1).toFixed(0),
      singleStatus: (tst1 - t1).toFixed(0),
      writeback: `${(tw - t2).toFixed(0)} (${statuses.length})`,
    };
  } finally {
    await writer.stop();
    await source.stop();
    await proxy?.close(0);
    if (serveChild) {
      serveChild.kill('SIGTERM');
      await new Promise((r) => serveChild!.once('exit', r));
    }
    await client.close();
    backend.close();
    api.stop();
  }
}
