// The container image, built the way an air-gapped builder builds it: the
// base assembled here (debootstrap minbase + the pinned Node binary), then
// the Containerfile on it with podman. Its contents are checked without a
// container runtime (CI's sandbox may not run containers): the image is
// mounted (`podman image mount`, read-only), and its commands run in a
// chroot as the image's user, with the image's environment, on a read-only
// root with only the state dir and /tmp writable, as deploy/ runs it; curl
// from outside reaches the quickstart's validated backend through the load
// balancer of an `isobar serve` inside.
//
// Needs root, podman, debootstrap, curl, unshare and chroot (.ci/run installs
// podman and debootstrap). Cold (empty podman storage and .deb cache) it
// takes a few minutes, most of it debootstrap; one file, so it runs beside
// the rest of the suite.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { chown, copyFile, lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { buildImage, inspectImage, packageVersion, run, ROOT, type ImageConfig } from '../../scripts/image-lib.ts';
import { buildLocalBase } from '../../scripts/image-base.ts';
import { prepareQuickstart, FQDN, type QuickstartFiles } from '../../scripts/quickstart-lib.ts';
import { startSecureBackend, freeOffset, freePort } from '../e2e/support.ts';
import { waitFor } from '../support/wait.ts';
import type { StatusReport } from '../../src/status/types.ts';

const execFileP = promisify(execFile);
const TAG = `localhost/isobar-test:${process.pid}`;
const UID = 65532;
/** Within 1.3x of the base image's own size. */
const SIZE_RATIO = 1.3;

let base: string;
let mounted: string;
let baseMounted: string;
/** The mount point each chroot binds the image's root to (in its own mount namespace). */
let root: string;
let config: ImageConfig;
let imageSize = 0;
let baseSize = 0;
const took: Record<string, number> = {};

async function timed<T>(what: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    took[what] = Date.now() - t0;
  }
}

function missingTools(): string[] {
  const need: [string, string][] = [['podman', 'podman'], ['debootstrap', 'debootstrap'], ['curl', 'curl'], ['unshare', 'util-linux'], ['chroot', 'coreutils']];
  return need.filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status !== 0).map(([bin, pkg]) => `${bin} (apt-get install -y ${pkg})`);
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the image test needs root (debootstrap, podman image mount, chroot)');
  const missing = missingTools();
  assert.deepEqual(missing, [], `install: ${missing.join(', ')}`);
  // podman's OCI runtime cannot start containers in every sandbox (cgroups
  // v1 hybrid, no user namespaces); chroot isolation runs RUN steps as root.
  process.env.BUILDAH_ISOLATION ??= 'chroot';
  base = await timed('base', () => buildLocalBase({ engine: 'podman', quiet: true }));
  await timed('build', () => buildImage({ engine: 'podman', tag: TAG, base, quiet: true }));
  ({ size: imageSize, config } = await inspectImage('podman', TAG));
  ({ size: baseSize } = await inspectImage('podman', base));
  mounted = (await run('podman', ['image', 'mount', TAG], { quiet: true })).trim();
  baseMounted = (await run('podman', ['image', 'mount', base], { quiet: true })).trim();
  root = await mkdtemp(join(tmpdir(), 'isobar-image-root-'));
});

after(async () => {
  if (mounted) await run('podman', ['image', 'unmount', TAG], { quiet: true }).catch(() => '');
  if (baseMounted) await run('podman', ['image', 'unmount', base], { quiet: true }).catch(() => '');
  await run('podman', ['rmi', '--force', TAG], { quiet: true }).catch(() => '');
  if (root) await rm(root, { recursive: true, force: true });
});

/** The image's environment as a runtime gives it to the process: its Env, and HOME from its passwd. */
async function imageEnv(): Promise<string[]> {
  const passwd = await readFile(join(mounted, 'etc/passwd'), 'utf8');
  const home = passwd.split('\n').map((l) => l.split(':')).find((f) => f[2] === String(UID))?.[5];
  return [...(config.Env ?? []), ...(home ? [`HOME=${home}`] : [])];
}

/** `unshare -m` + chroot: a private mount namespace with the image's root
 *  bound read-only, /proc and /dev, `work` as /tmp and `state` as the state
 *  dir; the command runs as the image's user with only the image's env. */
async function chrootCommand(args: string[], o: { work: string; state: string }): Promise<[string, string[]]> {
  const script = [
    'set -e',
    'mount --make-rprivate /',
    `mount --bind "$IMG" "$R"`,
    `mount -o remount,bind,ro "$R"`,
    `mount -t proc proc "$R/proc"`,
    `mount --rbind /dev "$R/dev"`,
    `mount --bind "$WORK" "$R/tmp"`,
    `mount --bind "$STATE" "$R/var/lib/isobar"`,
    `exec env -i ${(await imageEnv()).map((e) => `'${e.replace(/'/g, `'\\''`)}'`).join(' ')} chroot --userspec="$USERSPEC" "$R" "$@"`,
  ].join('\n');
  const entrypoint = config.Entrypoint ?? [];
  return ['unshare', ['-m', 'env', `IMG=${mounted}`, `R=${root}`, `WORK=${o.work}`, `STATE=${o.state}`, `USERSPEC=${config.User}`, 'sh', '-c', script, 'sh', ...entrypoint, ...args]];
}

async function inImage(args: string[], o: { work: string; state: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = await chrootCommand(args, o);
  try {
    const { stdout, stderr } = await execFileP(cmd, argv, { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Every path under `dir`, relative to it, and whether it is a directory (symlinks not followed). */
async function walk(dir: string, skip: Set<string> = new Set()): Promise<{ path: string; dir: boolean }[]> {
  const out: { path: string; dir: boolean }[] = [];
  const go = async (at: string): Promise<void> => {
    for (const e of await readdir(at, { withFileTypes: true })) {
      const p = join(at, e.name);
      const rel = relative(dir, p);
      if (skip.has(rel)) continue;
      out.push({ path: rel, dir: e.isDirectory() });
      if (e.isDirectory()) await go(p);
    }
  };
  await go(dir);
  return out;
}

// A PEM private key block with a body, its lines broken by newlines, by
// escaped ones (a key in a string literal) or not at all (the strings code
// uses to name the format, as in "-----BEGIN PRIVATE KEY-----" in an error
// message, have no body).
const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?:\s|\\[rn])*(?:[A-Za-z0-9+/=]{16,}(?:\s|\\[rn])*)+-----END \1PRIVATE KEY-----/;

test('the image runs isobar as uid 65532: entrypoint, default command, volumes, labels', () => {
  assert.equal(config.User, `${UID}:${UID}`);
  assert.deepEqual(config.Entrypoint, ['/usr/local/bin/isobar']);
  assert.deepEqual(config.Cmd, ['serve', '--kubernetes']);
  assert.deepEqual(Object.keys(config.Volumes ?? {}).sort(), ['/tmp', '/var/lib/isobar']);
  assert.ok(config.Env?.includes('ISOBAR_STATE_DIR=/var/lib/isobar'));
  const labels = config.Labels ?? {};
  assert.equal(labels['org.opencontainers.image.version'], packageVersion());
  assert.equal(labels['org.opencontainers.image.licenses'], 'Apache-2.0');
  assert.ok(labels['org.opencontainers.image.source'], 'a source label');
  assert.match(labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}$/);
});

test('the image holds isobar and its production dependencies only: no test, bench, .git or private key', async () => {
  const app = join(mounted, 'opt/isobar');
  assert.deepEqual((await readdir(app)).sort(), ['bin', 'node_modules', 'package.json', 'src']);
  // src/ and bin/ are exactly the repository's.
  const tracked = spawnSync('git', ['-C', ROOT, 'ls-files', 'src', 'bin'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
  const shipped = (await walk(app, new Set(['node_modules', 'package.json']))).filter((e) => !e.dir).map((e) => e.path).sort();
  assert.deepEqual(shipped, tracked);
  const modules = await readdir(join(app, 'node_modules'));
  for (const dev of ['fast-check', 'typescript', 'playwright-core', 'proxy-protocol-js', 'node', '@types']) assert.ok(!modules.includes(dev), `node_modules/${dev} is not for run time`);
  // The owner of everything isobar runs is root: the user cannot change it.
  assert.equal((await lstat(join(app, 'src/cli/main.ts'))).uid, 0);

  const all = (await walk(mounted, new Set(['proc', 'sys', 'dev']))).map((e) => e.path);
  assert.deepEqual(all.filter((p) => /(^|\/)\.git(\/|$)|\.test\.ts$|(^|\/)(bench|\.isobar)(\/|$)/.test(p) && !p.startsWith('opt/isobar/node_modules/')), []);
  // Debian's libgnutls carries the published keys of its FIPS self-tests,
  // compiled in; the base may hold key material only that way, and the
  // build adds none at all.
  assert.ok(PRIVATE_KEY.test(await readFile(files.backendKey, 'utf8')), 'the scan finds a key the test made');
  const keys: string[] = [];
  for (const p of all) {
    const st = await lstat(join(mounted, p));
    if (!st.isFile() || st.size === 0) continue;
    const bytes = await readFile(join(mounted, p));
    if (!PRIVATE_KEY.test(bytes.toString('latin1'))) continue;
    const fromBase = await readFile(join(baseMounted, p)).then((b) => b.equals(bytes), () => false);
    const compiledIn = bytes.subarray(0, 4).toString('latin1') === '\x7fELF' && /\.so(\.[0-9]+)*$/.test(p);
    if (!(fromBase && compiledIn)) keys.push(p);
  }
  assert.deepEqual(keys, [], 'no private key in the image');
});

test(`the image is within ${SIZE_RATIO}x of its base`, (t) => {
  t.diagnostic(`image ${(imageSize / 1e6).toFixed(1)} MB, base ${(baseSize / 1e6).toFixed(1)} MB: ${(imageSize / baseSize).toFixed(2)}x; base ${took.base} ms, build ${took.build} ms`);
  assert.ok(imageSize <= baseSize * SIZE_RATIO, `${imageSize} > ${SIZE_RATIO} x ${baseSize}`);
});

let work: string;
let files: QuickstartFiles;
let backendPort: number;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'isobar-image-work-'));
  backendPort = await freePort();
  files = await prepareQuickstart(work, { backendPort });
  await copyFile(files.config, join(work, 'isobar.yaml'));
  // Owned by the image's user, as a volume it may write is.
  for (const p of ['', ...(await walk(work)).map((e) => e.path)]) await chown(join(work, p), UID, UID);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('isobar --help runs in the image as its user', async () => {
  const r = await inImage(['--help'], { work, state: files.stateDir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /serve/);
  assert.match(r.stdout, /status/);
  const serveHelp = await inImage(['serve', '--help'], { work, state: files.stateDir });
  assert.equal(serveHelp.code, 0, serveHelp.stderr);
  assert.match(serveHelp.stdout, /--kubernetes/);
});

test('isobar status on a manifest folder in the image', async () => {
  const r = await inImage(['status', '/tmp/manifests', '-o', 'json', '--config', '/tmp/isobar.yaml'], { work, state: files.stateDir });
  assert.equal(r.code, 1, `status exits 1 when an object is invalid: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as StatusReport;
  assert.equal(report.httpproxies.find((p) => p.name === 'tls-demo')?.currentStatus, 'valid');
  assert.equal(report.httpproxies.find((p) => p.name === 'missing-ca')?.currentStatus, 'invalid');
});

test('isobar serve in the image (read-only root): curl through the load balancer reaches the validated backend', async () => {
  const backend = await startSecureBackend(files, backendPort);
  const offset = await freeOffset([80, 443]);
  const admin = await freePort();
  const [cmd, argv] = await chrootCommand(
    ['serve', '/tmp/manifests', '--config', '/tmp/isobar.yaml', '--lb-port-offset', String(offset), '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--admin-port', String(admin), '--workers', '1'],
    { work, state: files.stateDir },
  );
  const serve: ChildProcess = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  serve.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  serve.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
  try {
    await waitFor(
      'serve in the image to be ready',
      async () => {
        if (serve.exitCode !== null) throw new Error(`serve exited with ${serve.exitCode}:\n${out}`);
        return (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200;
      },
      60_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
    const port = 443 + offset;
    const { stdout } = await execFileP('curl', ['-sS', '--fail', '--resolve', `${FQDN}:${port}:127.0.0.1`, '--cacert', files.edgeCa, `https://${FQDN}:${port}/hello`]);
    const seen = JSON.parse(stdout) as { backend: string; tls: boolean; sni: string; clientCertificate: { subject: string } | null };
    assert.equal(seen.backend, 'secure-backend');
    assert.equal(seen.tls, true, 'TLS to the backend');
    assert.equal(seen.sni, 'secure-backend.example.test', 'validated against the subject name');
    assert.match(seen.clientCertificate?.subject ?? '', /CN=envoy/);
  } finally {
    if (serve.exitCode === null) serve.kill('SIGTERM');
    const code = await exited;
    await backend.close();
    assert.equal(code, 0, `SIGTERM drains and exits 0:\n${out.slice(-2000)}`);
  }
});
