// Crash-safe file writes: temp file in the same directory, fsync, rename,
// fsync the directory. A reader sees the old file or the new one, never a
// torn one, and no temp file survives a failed write.

import { open, rename, unlink, mkdir, readFile, link, readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

async function writeTemp(path: string, data: string | Buffer): Promise<string> {
  const tmp = tempPath(path);
  const fh = await open(tmp, 'wx', FILE_MODE);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  return tmp;
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `path` atomically with `data` (mode 0600). */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Creates `path` with `data` only if it does not exist yet; returns false
 *  when another writer got there first (its content is left alone). */
export async function createFileAtomic(path: string, data: string | Buffer): Promise<boolean> {
  const tmp = await writeTemp(path, data);
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
    await fsyncDir(dirname(path)).catch(() => {});
  }
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
}

/** Reads a file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Removes temp files left in `dir` by writers that died mid-write (their
 *  pid is in the name); call while holding the writer lock. */
export async function sweepTempFiles(dir: string, alive: (pid: number) => boolean): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (m && !alive(Number(m[1]))) await unlink(join(dir, name)).catch(() => {});
  }
}
