// What the image build reads, without building: the ignore files, the
// Containerfile's defaults against package.json and the pinned Node, and
// `npm run image`'s refusals of bad arguments (before any engine runs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { CONTAINERFILE, ROOT, defaultTag, findEngine, packageVersion, pinnedNodeVersion } from '../../scripts/image-lib.ts';
import { buildLocalBase } from '../../scripts/image-base.ts';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/image.ts', import.meta.url));

test('.dockerignore is .containerignore, and both let only package.json, the lock file, bin/ and src/ in', () => {
  const ignore = readFileSync(`${ROOT}/.containerignore`, 'utf8');
  assert.equal(readFileSync(`${ROOT}/.dockerignore`, 'utf8'), ignore);
  const rules = ignore.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.deepEqual(rules, ['*', '!package.json', '!package-lock.json', '!bin', '!src']);
});

test("the Containerfile's defaults: the version label is package.json's, the base is the official image of the pinned Node major", () => {
  const text = readFileSync(CONTAINERFILE, 'utf8');
  assert.equal(/^ARG VERSION=(.*)$/m.exec(text)?.[1], packageVersion());
  assert.equal(/^ARG BASE=(.*)$/m.exec(text)?.[1], `docker.io/library/node:${pinnedNodeVersion().split('.')[0]}-slim`);
  // Every COPY into the build stage names something the ignore files let in.
  for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) for (const src of m[1]!.split(' ')) assert.ok(['package.json', 'package-lock.json', 'bin', 'src'].includes(src), src);
  assert.match(text, /^USER 65532:65532$/m);
  assert.equal(defaultTag(), `localhost/isobar:${packageVersion()}`);
});

async function refusal(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [SCRIPT, ...args]);
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`npm run image -- ${args.join(' ')} succeeded`);
}

test('npm run image refuses bad arguments with the usage, before building anything', async () => {
  for (const [args, says] of [
    [['--bogus'], /Unknown option '--bogus'/],
    [['--tag'], /argument missing/],
    [['extra'], /positional/],
    [['--local-base', '--base', 'x'], /exclude each other/],
    [['--suite', 'trixie'], /go with --local-base/],
    [['--rebuild-base'], /go with --local-base/],
  ] as [string[], RegExp][]) {
    const r = await refusal(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, says, args.join(' '));
    assert.match(r.stderr, /usage: npm run image/);
  }
  const r = await refusal(['--engine', 'rkt']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--engine must be podman or docker, not "rkt"/);
});

test('an engine that is not installed, and a suite that is no Debian code name, are errors that say so', async () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.throws(() => findEngine(), /podman or docker is not installed/);
    assert.throws(() => findEngine('docker'), /docker is not installed/);
  } finally {
    process.env.PATH = saved;
  }
  for (const suite of ['../etc', 'Bookworm', 'bookworm; rm', '']) {
    await assert.rejects(buildLocalBase({ engine: 'podman', suite, quiet: true }), /--suite must be a Debian code name/, JSON.stringify(suite));
  }
});
