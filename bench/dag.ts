// `npm run bench:dag`: dag.build() time and heap for 1k, 10k and 50k
// HTTPProxies. Each has its Service and Endpoints; every second one uses
// upstream TLS with validation and its own CA Secret; every tenth root
// includes a child HTTPProxy. Prints a Markdown table.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { availableParallelism, loadavg } from 'node:os';
import { build, DagBuilder } from '../src/dag/index.ts';
import { defaultConfig } from '../src/config/types.ts';
import type { Snapshot } from '../src/objects/types.ts';
import { createCa } from '../test/support/pki.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ca = await createCa('bench CA');
const loadAtStart = loadavg();

function makeSnapshot(n: number): Snapshot {
  const s: Snapshot = { httpproxies: [], delegations: [], services: [], secrets: [], endpoints: [], endpointSlices: [], rejected: [] };
  for (let i = 0; i < n; i++) {
    const ns = `ns-${i % 100}`;
    const name = `app-${i}`;
    const tls = i % 2 === 1;
    const port = tls ? 443 : 80;
    const svc = { name, port, ...(tls ? { validation: { caSecret: `${name}-ca`, subjectName: `${name}.internal` } } : {}) };
    const withInclude = i % 10 === 0;
    s.httpproxies.push({
      apiVersion: 'projectcontour.io/v1',
      kind: 'HTTPProxy',
      metadata: { name, namespace: ns, generation: 1 },
      spec: {
        virtualhost: { fqdn: `${name}.example.com` },
        routes: [{ conditions: [{ prefix: '/' }], services: [svc] }, { conditions: [{ prefix: '/api' }, { header: { name: 'x-api', present: true } }], services: [svc], timeoutPolicy: { response: '30s' } }],
        ...(withInclude ? { includes: [{ name: `${name}-child`, conditions: [{ prefix: '/child' }] }] } : {}),
      },
    });
    if (withInclude) {
      s.httpproxies.push({
        apiVersion: 'projectcontour.io/v1',
        kind: 'HTTPProxy',
        metadata: { name: `${name}-child`, namespace: ns },
        spec: { routes: [{ services: [{ name, port: 80 }] }] },
      });
    }
    s.services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, ...(tls ? { annotations: { 'projectcontour.io/upstream-protocol.tls': '443' } } : {}) },
      spec: { ports: [{ port: 80, name: 'http', targetPort: 8080 }, { port: 443, name: 'https', targetPort: 8443 }] },
    });
    s.endpoints.push({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: ns },
      subsets: [
        {
          addresses: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }, { ip: `10.200.${(i >> 8) & 255}.${i & 255}` }],
          ports: [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }],
        },
      ],
    });
    if (tls) {
      s.secrets.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-ca`, namespace: ns }, type: 'Opaque', data: { 'ca.crt': ca.certPem } });
    }
  }
  return s;
}

/** A fixed reference workload, so numbers from a busy or slow machine can
 *  be compared: one million Map.set calls with fresh string keys. */
function calibrate(): number {
  const c0 = process.cpuUsage();
  const m = new Map<string, number>();
  for (let i = 0; i < 1_000_000; i++) m.set(`k${i}`, i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

const MB = 1024 * 1024;
const reference = calibrate();
const rows: string[] = [];
const perProxy: number[] = [];
for (const n of [1_000, 10_000, 50_000]) {
  const snap = makeSnapshot(n);
  const config = defaultConfig();
  build(snap, config); // warm-up
  build(snap, config);
  const times: number[] = [];
  const cpu: number[] = [];
  const runs = n >= 50_000 ? 5 : 11;
  let result: ReturnType<typeof build> | undefined;
  // Timing: back-to-back builds, each previous result becoming garbage, as
  // when `isobar serve` rebuilds after a change. No forced GC in between:
  // a forced full GC shrinks the young generation and slows the next build.
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    result = build(snap, config);
    const c1 = process.cpuUsage(c0);
    times.push(performance.now() - t0);
    cpu.push((c1.user + c1.system) / 1000);
  }
  // Heap: one more build between full collections.
  result = undefined;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  result = build(snap, config);
  const heapAfter = process.memoryUsage().heapUsed;
  gc();
  const retained = process.memoryUsage().heapUsed;
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const cpuMedian = cpu[Math.floor(cpu.length / 2)]!;
  perProxy.push((cpuMedian * 1000) / n);
  // A DagBuilder after one edit (what `isobar serve` does on a reload):
  // each run replaces one root HTTPProxy with an edited copy.
  const builder = new DagBuilder();
  builder.build(snap, config);
  const edits: number[] = [];
  for (let r = 0; r < runs; r++) {
    const i = (r * 7919) % snap.httpproxies.length;
    const old = snap.httpproxies[i]!;
    const edited = { ...old, metadata: { ...old.metadata, generation: (old.metadata.generation ?? 1) + 1 } };
    const next: Snapshot = { ...snap, httpproxies: snap.httpproxies.map((p, j) => (j === i ? edited : p)) };
    const t0 = performance.now();
    builder.build(next, config);
    edits.push(performance.now() - t0);
  }
  edits.sort((a, b) => a - b);
  const editMedian = edits[Math.floor(edits.length / 2)]!;
  const invalid = result!.statuses.filter((s) => s.currentStatus !== 'valid').length;
  rows.push(
    `| ${n.toLocaleString('en-US')} | ${snap.httpproxies.length.toLocaleString('en-US')} | ${median.toFixed(0)} | ${times[0]!.toFixed(0)} | ${cpuMedian.toFixed(0)} | ${((cpuMedian * 1000) / n).toFixed(1)} | ${((heapAfter - heapBefore) / MB).toFixed(0)} | ${(retained / MB).toFixed(0)} | ${editMedian.toFixed(1)} | ${result!.proxyConfig.clusters.length.toLocaleString('en-US')} | ${invalid} |`,
  );
}

console.log(`dag.build() on ${process.version}, ${process.platform}/${process.arch}`);
console.log('');
console.log(`load average at start: ${loadAtStart.map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores (wall time suffers when the machine is shared; CPU time is the process's own)`);
console.log(`reference workload (1M Map.set with new string keys): ${reference.toFixed(0)} ms CPU`);
console.log('');
console.log('| roots | HTTPProxies | wall median ms | wall best ms | CPU median ms | CPU µs / root | heap growth during one build (MB) | heap retained: snapshot + result (MB) | rebuild after one edit, wall median ms | clusters | not valid |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
console.log('');
console.log(`growth: CPU µs per root ${perProxy.map((x) => x.toFixed(1)).join(' -> ')} (flat means linear)`);
