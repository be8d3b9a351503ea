// Building isobar's container image: which engine (podman or docker), the
// tag the build gives it (deploy/ uses the same name), the labels' values,
// and running the engine. Shared by `npm run image` and test/image.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CONTAINERFILE = fileURLToPath(new URL('../Containerfile', import.meta.url));
/** The repository part of the tag; deploy/*.yaml reference `${IMAGE_REPOSITORY}:${version}`. */
export const IMAGE_REPOSITORY = 'localhost/isobar';

export type EngineName = 'podman' | 'docker';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The Node version this repository pins (package-lock's `node` package): the local base carries the same runtime. */
export function pinnedNodeVersion(): string {
  const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { version?: string }> };
  const v = lock.packages['node_modules/node']?.version;
  if (v === undefined) throw new Error('package-lock.json pins no `node` package');
  return v;
}

export function defaultTag(): string {
  return `${IMAGE_REPOSITORY}:${packageVersion()}`;
}

function installed(bin: string): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** podman if installed, else docker; `wanted` insists on one. */
export function findEngine(wanted?: string): EngineName {
  if (wanted !== undefined && wanted !== 'podman' && wanted !== 'docker') throw new Error(`--engine must be podman or docker, not ${JSON.stringify(wanted)}`);
  const candidates: EngineName[] = wanted !== undefined ? [wanted] : ['podman', 'docker'];
  for (const c of candidates) if (installed(c)) return c;
  throw new Error(`${candidates.join(' or ')} is not installed (Debian: apt-get install -y podman)`);
}

export interface RunOptions {
  /** Keep the output (it is shown only if the command fails); otherwise it goes to stderr as it comes. */
  quiet?: boolean;
  cwd?: string;
}

/** Runs a command to completion; a non-zero exit throws with the command and the end of its output. */
export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 1_000_000) out = out.slice(-500_000);
      if (o.quiet !== true) process.stderr.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}):\n${out.slice(-4000)}`));
    });
  });
}

/** Where the source came from: git's origin, else this checkout. */
function sourceLabel(): string {
  const origin = spawnSync('git', ['-C', ROOT, 'remote', 'get-url', 'origin'], { encoding: 'utf8' });
  if (origin.status === 0 && origin.stdout.trim() !== '') return origin.stdout.trim();
  return `git+file://${ROOT.replace(/\/$/, '')}`;
}

function revisionLabel(): string {
  const head = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  return head.status === 0 ? head.stdout.trim() : '';
}

export interface BuildOptions {
  engine: EngineName;
  tag: string;
  /** Base image; the Containerfile's default (the official Node image) when absent. */
  base?: string;
  quiet?: boolean;
  /** CA bundle the build stage's npm trusts (a TLS-inspecting proxy); default $NODE_EXTRA_CA_CERTS. */
  caFile?: string;
}

export async function buildImage(o: BuildOptions): Promise<void> {
  const args = ['build', '-f', CONTAINERFILE, '-t', o.tag];
  const buildArgs: Record<string, string> = { VERSION: packageVersion(), SOURCE: sourceLabel(), REVISION: revisionLabel() };
  if (o.base !== undefined) buildArgs.BASE = o.base;
  buildArgs.NPM_CONFIG_REGISTRY = process.env.NPM_CONFIG_REGISTRY || process.env.npm_config_registry || 'https://registry.npmjs.org/';
  for (const [k, v] of Object.entries(buildArgs)) args.push('--build-arg', `${k}=${v}`);
  const ca = o.caFile ?? process.env.NODE_EXTRA_CA_CERTS;
  if (ca !== undefined && ca !== '') args.push('--secret', `id=npm-ca,src=${ca}`);
  args.push(ROOT);
  try {
    await run(o.engine, args, { quiet: o.quiet });
  } catch (err) {
    // podman's OCI runtime cannot start RUN steps in some sandboxes (cgroups v1 hybrid, no user namespaces).
    if (o.engine === 'podman' && process.env.BUILDAH_ISOLATION === undefined && /error running container|creating container/.test((err as Error).message)) {
      throw new Error(`${(err as Error).message}\npodman could not start a container for a RUN step; as root, chroot isolation works: BUILDAH_ISOLATION=chroot npm run image ...`);
    }
    throw err;
  }
}

export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Labels?: Record<string, string> | null;
  Volumes?: Record<string, unknown> | null;
  WorkingDir?: string;
}

/** Size in bytes and the config (user, entrypoint, labels, ...) of a local image. */
export async function inspectImage(engine: EngineName, ref: string): Promise<{ size: number; config: ImageConfig }> {
  const [info] = JSON.parse(await run(engine, ['image', 'inspect', ref], { quiet: true })) as { Size: number; Config: ImageConfig }[];
  if (info === undefined) throw new Error(`${engine} image inspect ${ref}: no such image`);
  return { size: info.Size, config: info.Config };
}

export function imageExists(engine: EngineName, ref: string): boolean {
  return spawnSync(engine, ['image', 'inspect', ref], { stdio: 'ignore' }).status === 0;
}
