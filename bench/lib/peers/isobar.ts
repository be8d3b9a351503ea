// The chain built with isobar: `isobar serve` on a folder of manifests shaped
// like examples/quickstart (the projectcontour/envoy Service of type
// LoadBalancer with the NLB annotations, an HTTPProxy with upstream TLS and
// validation, Endpoints pointing at the bench backend), the edge certificate
// imported into isobar's certificate store under the ARN the Service names.

import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, stop, isRunning, run, runOk } from '../procs.ts';
import { freePorts, freeRun, waitForPort, LOOPBACK } from '../ports.ts';
import { EDGE_HOST, H2_HOST, PLAIN_HOST, WRONG_HOST, BACKEND_NAME, type BenchPki } from '../pki.ts';
import type { BackendPorts } from '../backend.ts';
import { SkipSystem, type StartContext, type SystemUnderTest, type SystemTargets } from '../system.ts';

const HERE = path.resolve(import.meta.dirname, '..', '..', '..');
/** The isobar checkout under test: this one, or ISOBAR_BENCH_DIR (for example a
 *  `git archive` of a commit, so edits in progress do not change the numbers). */
export let REPO = process.env.ISOBAR_BENCH_DIR ? path.resolve(process.env.ISOBAR_BENCH_DIR) : HERE;
/** Node 26 from the `node` npm package: the machine's /usr/bin/node is older. */
export const NODE = path.join(HERE, 'node_modules', '.bin', 'node');

/** The command and arguments that run `node args`: under the context's
 *  wrapper with its node flags when it has one (bench/instructions.ts). */
export function nodeCommand(ctx: StartContext, args: string[]): [string, string[]] {
  if (ctx.wrap === undefined) return [NODE, args];
  const [cmd, ...prefix] = ctx.wrap.command;
  return [cmd!, [...prefix, NODE, ...ctx.wrap.nodeFlags, ...args]];
}
export let ISOBAR = path.join(REPO, 'bin', 'isobar.js');

/** Measures the isobar in dir instead (see exportCommit). */
export function useIsobarCheckout(dir: string): void {
  REPO = path.resolve(dir);
  ISOBAR = path.join(REPO, 'bin', 'isobar.js');
}

/** Extracts commit `ref` of this repository into dir (git archive, node_modules
 *  linked), so that the numbers belong to one commit and not to edits in progress. */
export async function exportCommit(ref: string, parent: string): Promise<string> {
  const sha = (await runOk('git', ['-C', HERE, 'rev-parse', '--verify', `${ref}^{commit}`])).trim();
  const dir = path.join(parent, `isobar-${sha.slice(0, 12)}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = path.join(parent, `isobar-${sha.slice(0, 12)}.tar`);
  await runOk('git', ['-C', HERE, 'archive', '--format=tar', '-o', tar, sha]);
  await runOk('tar', ['-xf', tar, '-C', dir]);
  rmSync(tar, { force: true });
  symlinkSync(path.join(HERE, 'node_modules'), path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, '.bench-commit'), `commit ${sha.slice(0, 12)} (${ref})\n`);
  return dir;
}

/** Which isobar was measured: a commit, marked dirty when the tree has uncommitted changes. */
export async function isobarVersion(repo = REPO): Promise<string> {
  // An exported commit first: it sits inside this repository's work tree, where git would describe the tree instead.
  try {
    return `${repo} (${readFileSync(path.join(repo, '.bench-commit'), 'utf8').trim()})`;
  } catch {
    /* not an export */
  }
  const r = await run('git', ['-C', repo, 'describe', '--always', '--dirty', '--abbrev=12'], { timeoutMs: 10_000 });
  return r.code === 0 ? `${repo} at commit ${r.stdout.trim()}` : `${repo} (not a git checkout)`;
}

export const EDGE_ARN = 'arn:aws:acm:us-east-2:185309785115:certificate/7610ed7d-5a81-4ea2-a18a-7ba1606cca3e';

/** The service ports the two load balancer Services declare (plus --lb-port-offset). */
const CHAIN_SERVICE_PORT = 443;
const LB_ONLY_SERVICE_PORT = 444;

/** Whether this checkout has `isobar serve` (the command file exists and --help names it). */
export async function isobarServeAvailable(repo = REPO): Promise<string | undefined> {
  if (!existsSync(path.join(repo, 'src', 'cli', 'serve.ts'))) return 'src/cli/serve.ts does not exist yet';
  const r = await run(NODE, [path.join(repo, 'bin', 'isobar.js'), 'serve', '--help'], { timeoutMs: 20_000 });
  if (r.code !== 0 || !/--lb-port-offset/.test(r.stdout + r.stderr)) {
    return `\`isobar serve --help\` did not work (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' / ')}`;
  }
  return undefined;
}

export interface IsobarVariant {
  /** `serve --co-located` (balancer and proxy in the same worker processes) */
  coLocated?: boolean;
  /** another checkout to run (an exported commit: the A/B baseline), and the name it is reported under */
  repo?: string;
  name?: string;
}

export async function startIsobar(ctx: StartContext, variant: IsobarVariant = {}): Promise<SystemUnderTest> {
  const name = variant.name ?? (variant.coLocated ? 'isobar co-located' : 'isobar');
  const repo = variant.repo ?? REPO;
  const isobar = path.join(repo, 'bin', 'isobar.js');
  const why = await isobarServeAvailable(repo);
  if (why) throw new SkipSystem(`${name} skipped: ${why}`);
  const dir = path.join(ctx.workDir, name.replace(/[^a-z0-9]+/gi, '-'));
  rmSync(dir, { recursive: true, force: true });
  const manifests = path.join(dir, 'manifests');
  const stateDir = path.join(dir, 'state');
  mkdirSync(manifests, { recursive: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });

  const imported = await run(
    NODE,
    [isobar, 'certs', 'import', '--cert', ctx.pki.edgeCert, '--key', ctx.pki.edgeKey, '--chain', ctx.pki.edgeCa, '--arn', EDGE_ARN, '--state-dir', stateDir],
    { timeoutMs: 30_000 },
  );
  if (imported.code !== 0) throw new Error(`isobar certs import failed (exit ${imported.code}): ${(imported.stderr || imported.stdout).trim()}`);

  const lbBase = await freeRun(2);
  const offset = lbBase - CHAIN_SERVICE_PORT;
  const [httpPort, httpsPort, adminPort] = (await freePorts(3)) as [number, number, number];
  const targets: SystemTargets = { chain: lbBase, lbOnly: LB_ONLY_SERVICE_PORT + offset, proxyPlain: httpPort, h2: httpsPort };

  writeFileSync(path.join(manifests, 'bench.yaml'), manifestsYaml(ctx.pki, ctx.backend));
  const config = path.join(dir, 'isobar.yaml');
  writeFileSync(config, configYaml());

  const log = path.join(dir, 'serve.log');
  const args = [
    isobar, 'serve', manifests, '--config', config, '--state-dir', stateDir,
    '--lb-port-offset', String(offset), '--http-port', String(httpPort), '--https-port', String(httpsPort),
    '--admin-port', String(adminPort), '--workers', String(ctx.workers),
    // The peers log no requests either.
    '--no-access-log',
    '--drain-timeout', '5s',
    ...(variant.coLocated ? ['--co-located'] : []),
  ];
  // NODE_OPTIONS reaches the forked workers too; each process writes its
  // profile when it exits normally (workers exit on the primary's shutdown).
  const env = ctx.profileDir
    ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${ctx.profileDir}`.trim() }
    : process.env;
  const proc = startServer(`${name} serve`, ...nodeCommand(ctx, args), log, { cwd: repo, env });
  const startMs = ctx.wrap?.startTimeoutMs ?? 60_000;
  try {
    for (const port of [adminPort, targets.chain, targets.lbOnly, targets.proxyPlain, httpsPort]) {
      await waitForPort(port, startMs, 'isobar serve', () => isRunning(proc));
    }
    await waitReady(adminPort, startMs, () => isRunning(proc));
  } catch (err) {
    const tail = readTail(log);
    await stop(proc);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${log} (last lines) ---\n${tail}`);
  }
  return { name, targets, rootPid: proc.pid, metricsUrl: `http://${LOOPBACK}:${adminPort}/metrics`, stop: () => stop(proc, 35_000) };
}

async function waitReady(adminPort: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('isobar serve exited before it was ready');
    try {
      const res = await fetch(`http://${LOOPBACK}:${adminPort}/readyz`);
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`isobar serve not ready within ${timeoutMs} ms (/readyz: ${last})`);
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

function b64(file: string): string {
  return readFileSync(file).toString('base64');
}

function configYaml(): string {
  return `# generated by bench/lib/peers/isobar.ts
tls:
  envoy-client-certificate:
    name: envoy-client-cert
    namespace: projectcontour
`;
}

/** An upstream TLS Service + Endpoints pair in namespace bench. */
function tlsService(name: string, port: number): string {
  return `---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: bench
  annotations:
    projectcontour.io/upstream-protocol.tls: "8443"
spec:
  ports:
    - name: https
      port: 8443
      targetPort: ${port}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ${name}
  namespace: bench
subsets:
  - addresses:
      - ip: ${LOOPBACK}
    ports:
      - name: https
        port: ${port}
`;
}

function validatedRoute(service: string): string {
  return `  routes:
    - conditions:
        - prefix: /
      services:
        - name: ${service}
          port: 8443
          validation:
            caSecret: backend-ca
            subjectName: ${BACKEND_NAME}`;
}

function manifestsYaml(pki: BenchPki, b: BackendPorts): string {
  const nlb = (port: number) => `    service.beta.kubernetes.io/aws-load-balancer-type: nlb
    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: ${EDGE_ARN}
    service.beta.kubernetes.io/aws-load-balancer-ssl-ports: "${port}"`;
  return `# generated by bench/lib/peers/isobar.ts
# The load balancer: TLS terminated with the imported certificate, PROXY v2 to the proxy's HTTP listener.
apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: projectcontour
  annotations:
${nlb(CHAIN_SERVICE_PORT)}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports:
    - name: https
      port: ${CHAIN_SERVICE_PORT}
      targetPort: 8080
---
# The load balancer alone: TLS terminated, plain TCP to the backend's plain port.
apiVersion: v1
kind: Service
metadata:
  name: lb-only
  namespace: bench
  annotations:
${nlb(LB_ONLY_SERVICE_PORT)}
spec:
  type: LoadBalancer
  ports:
    - name: https
      port: ${LB_ONLY_SERVICE_PORT}
      targetPort: ${b.plain}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: lb-only
  namespace: bench
subsets:
  - addresses:
      - ip: ${LOOPBACK}
    ports:
      - name: https
        port: ${b.plain}
---
apiVersion: v1
kind: Secret
metadata:
  name: envoy-client-cert
  namespace: projectcontour
type: kubernetes.io/tls
data:
  tls.crt: ${b64(pki.clientCert)}
  tls.key: ${b64(pki.clientKey)}
---
apiVersion: v1
kind: Secret
metadata:
  name: backend-ca
  namespace: bench
data:
  ca.crt: ${b64(pki.backendCa)}
---
apiVersion: v1
kind: Secret
metadata:
  name: proxy-tls
  namespace: bench
type: kubernetes.io/tls
data:
  tls.crt: ${b64(pki.proxyTlsCert)}
  tls.key: ${b64(pki.proxyTlsKey)}
${tlsService('backend', b.tls)}${tlsService('backend-wrong-ca', b.wrong)}---
apiVersion: v1
kind: Service
metadata:
  name: backend-plain
  namespace: bench
spec:
  ports:
    - name: http
      port: 80
      targetPort: ${b.plain}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: backend-plain
  namespace: bench
subsets:
  - addresses:
      - ip: ${LOOPBACK}
    ports:
      - name: http
        port: ${b.plain}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: tls-demo
  namespace: bench
spec:
  virtualhost:
    fqdn: ${EDGE_HOST}
${validatedRoute('backend')}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: wrong-ca
  namespace: bench
spec:
  virtualhost:
    fqdn: ${WRONG_HOST}
${validatedRoute('backend-wrong-ca')}
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: plain
  namespace: bench
spec:
  virtualhost:
    fqdn: ${PLAIN_HOST}
  routes:
    - conditions:
        - prefix: /
      services:
        - name: backend-plain
          port: 80
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: h2
  namespace: bench
spec:
  virtualhost:
    fqdn: ${H2_HOST}
    tls:
      secretName: proxy-tls
${validatedRoute('backend')}
`;
}
