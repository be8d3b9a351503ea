// `isobar serve` as a person runs it: hot reload, reloads under load, the
// access log (Envoy's default format), graceful shutdown, and one clear line for bad input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import { connect, createServer } from 'node:net';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { CLI, waitFor, freePort, slowBackend, startServe, type ServeProcess } from './support.ts';

const run = promisify(execFile);

function proxyYaml(name: string, fqdn: string, service: string, prefix = '/'): string {
  return `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: ${name}
  namespace: default
spec:
  virtualhost:
    fqdn: ${fqdn}
  routes:
    - conditions:
        - prefix: ${prefix}
      services:
        - name: ${service}
          port: 80
`;
}

function serviceYaml(name: string, port: number): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  ports:
    - port: 80
      targetPort: ${port}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: ${name}
  namespace: default
subsets:
  - addresses:
      - ip: 127.0.0.1
    ports:
      - port: ${port}
`;
}

async function setup(): Promise<{ dir: string; work: string; backends: { port: number; close(): Promise<void> }[] }> {
  const work = await mkdtemp(join(tmpdir(), 'isobar-serve-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const a = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'a' });
  const b = await startDemoBackend({ host: '127.0.0.1', port: 0, name: 'b' });
  await writeFile(join(dir, 'services.yaml'), serviceYaml('svc-a', a.port) + '---\n' + serviceYaml('svc-b', b.port));
  await writeFile(join(dir, 'proxy.yaml'), proxyYaml('app', 'app.example.test', 'svc-a'));
  return { dir, work, backends: [a, b] };
}

function get(port: number, host: string, agent?: http.Agent, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('hot reload: a saved change serves, a broken file keeps its last good objects, 100 reloads under load lose nothing', async (t) => {
  const { dir, work, backends } = await setup();
  const httpPort = await freePort();
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const first = await get(httpPort, 'app.example.test');
    assert.equal(first.status, 200);
    assert.equal(JSON.parse(first.body).backend, 'a');

    // A saved change is served.
    const t0 = Date.now();
    await writeFile(join(dir, 'proxy.yaml'), proxyYaml('app', 'app.example.test', 'svc-b'));
    await waitFor('route to b', async () => ((JSON.parse((await get(httpPort, 'app.example.test')).body) as { backend: string }).backend === 'b' ? true : undefined));
    const reloadMs = Date.now() - t0;
    t.diagnostic(`reload observed after ${reloadMs} ms`);

    // A file that stops parsing keeps its last good objects, and says why.
    await writeFile(join(dir, 'proxy.yaml'), 'apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: [unclosed\n');
    await waitFor('parse problem logged', async () => (/proxy\.yaml:\d+/.test(serve!.output()) ? true : undefined));
    assert.equal(JSON.parse((await get(httpPort, 'app.example.test')).body).backend, 'b', 'last good version keeps serving');

    // 100 reloads under a steady load: every request answered 200.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let ok = 0;
    let failed = 0;
    let loading = true;
    const workers = Array.from({ length: 8 }, async () => {
      while (loading) {
        try {
          const r = await get(httpPort, 'app.example.test', agent);
          if (r.status === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    });
    for (let i = 0; i < 100; i++) {
      // Both ways editors and tools save: in place (truncate, then write)
      // and a new file renamed over the old one.
      const content = proxyYaml('app', 'app.example.test', i % 2 ? 'svc-a' : 'svc-b');
      if (i % 4 < 2) {
        await writeFile(join(dir, 'proxy.yaml'), content);
      } else {
        await writeFile(join(dir, '.proxy.yaml.tmp'), content);
        await rename(join(dir, '.proxy.yaml.tmp'), join(dir, 'proxy.yaml'));
      }
      await new Promise((r) => setTimeout(r, 40));
    }
    loading = false;
    await Promise.all(workers);
    agent.destroy();
    t.diagnostic(`${ok} requests during 100 reloads`);
    assert.ok(ok > 100, `load was running (${ok} requests)`);
    assert.equal(failed, 0, `no request lost (${failed} of ${ok + failed} failed)`);
  } finally {
    const code = await serve?.stop();
    for (const b of backends) await b.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});

test('a change saved while the workers are still starting is served once they run', async () => {
  const { dir, work, backends } = await setup();
  const httpPort = await freePort();
  let serve: ServeProcess | undefined;
  try {
    // The first statuses are logged before the workers are forked: save a
    // new HTTPProxy right then, in the middle of start-up.
    serve = await startServe(
      [dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')],
      await freePort(),
      async (output) => {
        await waitFor('first statuses logged', async () => (output().includes('HTTPProxy default/app valid') ? true : undefined), 20_000);
        await writeFile(join(dir, 'late.yaml'), proxyYaml('late', 'late.example.test', 'svc-b'));
      },
    );
    const answer = await waitFor(
      'late.example.test served',
      async () => {
        const r = await get(httpPort, 'late.example.test');
        return r.status === 200 ? r : undefined;
      },
      20_000,
    );
    assert.equal((JSON.parse(answer.body) as { backend: string }).backend, 'b');
  } finally {
    const code = await serve?.stop();
    for (const b of backends) await b.close();
    await rm(work, { recursive: true, force: true });
    if (serve) assert.equal(code, 0);
  }
});

test("access log: one line per request in Envoy's default format (Contour's default), on stdout", async () => {
  const { dir, work, backends } = await setup();
  const httpPort = await freePort();
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state')], await freePort());
    const running = serve;
    await get(httpPort, 'app.example.test', undefined, '/logged?x=1');
    const line = await waitFor('access log line', async () =>
      running
        .output()
        .split('\n')
        .find((l) => l.includes('/logged')),
    );
    assert.match(line, /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET \/logged\?x=1 HTTP\/1\.1" 200 - 0 \d+ \d+ \d+ "127\.0\.0\.1" "[^"]*" "[0-9a-f-]{36}" "app\.example\.test" "127\.0\.0\.1:\d+"$/);
  } finally {
    await serve?.stop();
    for (const b of backends) await b.close();
    await rm(work, { recursive: true, force: true });
  }
});

test('SIGTERM lets an in-flight request finish, and a connection accepted before it send one within --drain-grace, then exits 0', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-drain-'));
  const dir = join(work, 'manifests');
  await mkdir(dir);
  const slow = await slowBackend();
  await writeFile(join(dir, 'all.yaml'), serviceYaml('slow', slow.port) + '---\n' + proxyYaml('slow', 'slow.example.test', 'slow'));
  const httpPort = await freePort();
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state'), '--drain-grace', '4s'], await freePort());
    const pending = get(httpPort, 'slow.example.test');
    await waitFor('request reached the backend', async () => (slow.arrived() ? true : undefined));
    // Connected before the signal, speaking only after the default grace (1 s) is over.
    const late = await rawConnection(httpPort);
    const exited = serve.stop();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(serve.child.exitCode, null, 'still draining while the request is in flight');
    slow.release();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'finished\n');
    await new Promise((r) => setTimeout(r, 1500));
    const answer = await late.ask('GET /quick HTTP/1.1\r\nhost: slow.example.test\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 [^]*\r\nconnection: close\r\n/i, 'answered within the grace, with Connection: close');
    assert.equal(await exited, 0);
  } finally {
    await serve?.stop();
    slow.close();
    await rm(work, { recursive: true, force: true });
  }
});

/** A TCP connection that sends one request when asked and reads until the server closes. */
function rawConnection(port: number): Promise<{ ask(request: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () =>
      resolve({
        ask: (request) =>
          new Promise((done) => {
            const chunks: Buffer[] = [];
            s.on('data', (d: Buffer) => chunks.push(d));
            s.once('close', () => done(Buffer.concat(chunks).toString('latin1')));
            s.write(request);
          }),
      }),
    );
    s.once('error', reject);
  });
}

test('bad input: one clear line, exit 2, nothing left running', async () => {
  const work = await mkdtemp(join(tmpdir(), 'isobar-bad-'));
  const closeLater: (() => void)[] = [];
  try {
    const cases: { args: string[]; expect: RegExp }[] = [
      { args: ['serve', join(work, 'does-not-exist')], expect: /does not exist/ },
    ];
    const dir = join(work, 'manifests');
    await mkdir(dir);
    const badConfig = join(work, 'bad.yaml');
    await writeFile(badConfig, 'tls:\n  envoy-client-certficate:\n    name: x\n    namespace: y\n');
    cases.push({ args: ['serve', dir, '--config', badConfig], expect: /envoy-client-certficate/ });
    cases.push({ args: ['serve', dir, '--drain-grace', '40s', '--drain-timeout', '30s'], expect: /--drain-grace 40000 ms is longer than --drain-timeout 30000 ms/ });
    const busy = createServer();
    closeLater.push(() => busy.close());
    await new Promise<void>((r) => busy.listen(0, '0.0.0.0', r));
    const busyPort = (busy.address() as { port: number }).port;
    cases.push({ args: ['serve', dir, '--roles', 'dag,proxy', '--http-port', String(busyPort), '--https-port', String(await freePort()), '--admin-port', '0', '--state-dir', join(work, 'state')], expect: new RegExp(`port ${busyPort}.*already in use`) });
    // A Service naming a certificate the store does not have.
    const lbDir = join(work, 'lb');
    await mkdir(lbDir);
    await writeFile(
      join(lbDir, 'svc.yaml'),
      `apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: projectcontour
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: nlb
    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: arn:aws:acm:local:000000000000:certificate/11111111-2222-4333-8444-555555555555
spec:
  type: LoadBalancer
  ports:
    - port: 443
      targetPort: 8080
`,
    );
    cases.push({ args: ['serve', lbDir, '--state-dir', join(work, 'state'), '--lb-port-offset', '30000', '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--admin-port', '0'], expect: /certificate arn:aws:acm:local:000000000000:certificate\/11111111-2222-4333-8444-555555555555.*not in the certificate store/ });

    for (const c of cases) {
      const res = await run(process.execPath, [CLI, ...c.args], { timeout: 20_000 }).then(
        (r) => ({ code: 0, stderr: r.stderr }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );
      assert.equal(res.code, 2, `${c.args.join(' ')} exits 2 (stderr: ${res.stderr})`);
      assert.match(res.stderr, c.expect);
      assert.equal(res.stderr.trim().split('\n').filter((l) => l.startsWith('isobar:')).length, 1, 'one line');
    }
  } finally {
    for (const c of closeLater) c();
    await rm(work, { recursive: true, force: true });
  }
});

test('a proxy worker that dies is replaced and traffic resumes', async () => {
  const { dir, work, backends } = await setup();
  const httpPort = await freePort();
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe([dir, '--roles', 'dag,proxy', '--http-port', String(httpPort), '--https-port', String(await freePort()), '--workers', '1', '--state-dir', join(work, 'state'), '--no-access-log'], await freePort());
    assert.equal((await get(httpPort, 'app.example.test')).status, 200);
    const workerPid = await childPid(serve.child.pid!, 'proxy-worker.ts');
    process.kill(workerPid, 'SIGKILL');
    const replaced = await waitFor('a new proxy worker', async () => {
      const pid = await childPid(serve!.child.pid!, 'proxy-worker.ts').catch(() => undefined);
      return pid !== undefined && pid !== workerPid ? pid : undefined;
    }, 15_000);
    assert.notEqual(replaced, workerPid);
    const answer = await waitFor('traffic after the restart', async () => {
      const r = await get(httpPort, 'app.example.test').catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    }, 15_000);
    assert.equal(JSON.parse(answer.body).backend, 'a', 'the new worker got the current configuration');
  } finally {
    await serve?.stop();
    for (const b of backends) await b.close();
    await rm(work, { recursive: true, force: true });
  }
});

/** The pid of the child of `parent` whose command line contains `name`. */
async function childPid(parent: number, name: string): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(name)) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  throw new Error(`no child of ${parent} runs ${name}`);
}
