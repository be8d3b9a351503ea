// A base image assembled on this machine, for builders that cannot pull the
// official Node image (air-gapped, or no route to Docker Hub): a Debian
// root filesystem from `debootstrap --variant=minbase` plus the Node runtime
// of the `node` npm package this repository pins (its node-linux-<arch>
// binary) and npm, laid out as the official image has them
// (/usr/local/bin/node, /usr/local/lib/node_modules/npm), imported as a
// local image. Needs root (debootstrap) and Debian's package mirror.

import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectImage, imageExists, pinnedNodeVersion, run, type EngineName } from './image-lib.ts';

export const DEFAULT_SUITE = 'bookworm';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
/** npm in the base (the build stage runs `npm ci`). */
export const NPM_VERSION = '11.19.1';
const INPUTS_LABEL = 'io.isobar.base.inputs';

export interface BaseOptions {
  engine: EngineName;
  suite?: string;
  mirror?: string;
  /** Rebuild even when an image made from the same inputs exists. */
  rebuild?: boolean;
  quiet?: boolean;
}

const NODE_ARCH: Record<string, string> = { x64: 'x64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' };

/** Downloaded .deb files are kept here between runs (never in the checkout). */
export function debCacheDir(suite: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'isobar', `debootstrap-${suite}-${process.arch}`);
}

/** Builds (or reuses) the local base and returns its tag. */
export async function buildLocalBase(o: BaseOptions): Promise<string> {
  const suite = o.suite ?? DEFAULT_SUITE;
  const mirror = o.mirror ?? DEFAULT_MIRROR;
  const nodeVersion = pinnedNodeVersion();
  const arch = NODE_ARCH[process.arch];
  if (arch === undefined) throw new Error(`no Node binary package for ${process.arch}`);
  if (!/^[a-z]+$/.test(suite)) throw new Error(`--suite must be a Debian code name such as bookworm, not ${JSON.stringify(suite)}`);
  const tag = `localhost/isobar-base:node${nodeVersion}-${suite}`;
  // Same script, suite, mirror and versions: the existing image is what a rebuild would make.
  const inputs = createHash('sha256')
    .update(await readFile(new URL(import.meta.url), 'utf8'))
    .update(JSON.stringify({ suite, mirror, nodeVersion, npm: NPM_VERSION, arch }))
    .digest('hex')
    .slice(0, 16);
  if (o.rebuild !== true && imageExists(o.engine, tag)) {
    const { config } = await inspectImage(o.engine, tag);
    if (config.Labels?.[INPUTS_LABEL] === inputs) return tag;
  }
  if (process.getuid?.() !== 0) throw new Error('assembling the base runs debootstrap, which needs root');

  const work = await mkdtemp(join(tmpdir(), 'isobar-base-'));
  try {
    const rootfs = join(work, 'rootfs');
    const cache = debCacheDir(suite);
    await mkdir(cache, { recursive: true });
    // libatomic1: the Node binary links it; minbase has libstdc++6 already.
    await run('debootstrap', ['--variant=minbase', '--include=libatomic1', `--cache-dir=${cache}`, suite, rootfs, mirror], { quiet: o.quiet });
    await slim(rootfs);
    await addNode(rootfs, work, arch, nodeVersion, o.quiet);
    const tar = join(work, 'rootfs.tar');
    await run('tar', ['--numeric-owner', '-C', rootfs, '-cf', tar, '.'], { quiet: o.quiet });
    const changes = [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `ENV NODE_VERSION=${nodeVersion}`,
      `LABEL ${INPUTS_LABEL}=${inputs}`,
      `LABEL org.opencontainers.image.description="Debian ${suite} minbase with Node ${nodeVersion} and npm ${NPM_VERSION}"`,
      'CMD ["node"]',
    ];
    await run(o.engine, ['import', ...changes.flatMap((c) => ['--change', c]), tar, tag], { quiet: o.quiet });
    return tag;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What Debian's slim images leave out: package lists and caches, logs, docs, man pages, translations. */
async function slim(rootfs: string): Promise<void> {
  for (const dir of ['var/lib/apt/lists', 'var/cache/apt', 'var/log', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale']) {
    const at = join(rootfs, dir);
    for (const entry of await readdir(at).catch(() => [] as string[])) await rm(join(at, entry), { recursive: true, force: true });
  }
  // apt expects these to exist.
  await mkdir(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
  await mkdir(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
}

async function addNode(rootfs: string, work: string, arch: string, nodeVersion: string, quiet?: boolean): Promise<void> {
  const dl = join(work, 'npm-packs');
  await mkdir(dl);
  const pack = async (spec: string): Promise<string> => {
    const out = await run('npm', ['pack', spec, '--pack-destination', dl, '--silent'], { quiet: true });
    const file = out.trim().split('\n').pop()!;
    if (!file.endsWith('.tgz')) throw new Error(`npm pack ${spec} printed no tarball name:\n${out}`);
    return join(dl, file);
  };
  // The binary the `node` package installs (it fetches node-linux-<arch> of its own version).
  const nodeTgz = await pack(`node-linux-${arch}@${nodeVersion}`);
  const nodeDir = join(work, 'node');
  await mkdir(nodeDir);
  await run('tar', ['-xzf', nodeTgz, '-C', nodeDir, 'package/bin/node'], { quiet });
  const local = join(rootfs, 'usr/local');
  await mkdir(join(local, 'bin'), { recursive: true });
  await copyFile(join(nodeDir, 'package/bin/node'), join(local, 'bin/node'));
  await chmod(join(local, 'bin/node'), 0o755);

  const npmTgz = await pack(`npm@${NPM_VERSION}`);
  const npmDir = join(local, 'lib/node_modules/npm');
  await mkdir(npmDir, { recursive: true });
  await run('tar', ['-xzf', npmTgz, '-C', npmDir, '--strip-components=1', '--no-same-owner'], { quiet });
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(local, 'bin/npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(local, 'bin/npx'));
}
