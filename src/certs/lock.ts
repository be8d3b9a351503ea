// Writer lock for the state dir: an O_EXCL lock file holding the owner's pid.
// A lock whose pid is no longer running is stale and taken over; the takeover
// itself is serialised by a second, short-lived O_EXCL file so two writers
// never both remove the same stale lock and then each other's fresh one.

import { readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CertsError } from './errors.ts';
import { createFileAtomic } from './atomic-file.ts';

export interface LockOptions {
  /** How long to wait for a live holder before giving up (default 10 s). */
  waitMs?: number;
}

const POLL_MS = 25;

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string): Promise<boolean> {
  // Written aside and linked into place, so the lock file never exists
  // without its pid (an empty one would look stale to other writers).
  return createFileAtomic(path, `${process.pid}\n${new Date().toISOString()}\n`);
}

async function holder(path: string): Promise<{ pid: number; text: string } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return { pid: Number(text.split('\n')[0]), text };
}

/** Removes `path` if it is still the same stale lock seen before. */
async function takeOver(path: string, seen: string): Promise<void> {
  const guard = `${path}.takeover`;
  if (!(await tryCreate(guard))) {
    const g = await holder(guard);
    // A takeover guard left by a writer that died mid-takeover.
    if (g && !pidAlive(g.pid)) await unlink(guard).catch(() => {});
    return;
  }
  try {
    const now = await holder(path);
    if (now && now.text === seen && !pidAlive(now.pid)) await unlink(path).catch(() => {});
  } finally {
    await unlink(guard).catch(() => {});
  }
}

/** Runs `fn` holding the writer lock at `path`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.waitMs ?? 10_000);
  for (;;) {
    if (await tryCreate(path)) break;
    const h = await holder(path);
    if (h === undefined) continue; // released between our attempts
    if (!pidAlive(h.pid) && h.pid !== process.pid) {
      await takeOver(path, h.text);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new CertsError('LOCKED', `the certificate store is locked by process ${h.pid} (${path}); wait for it to finish, or remove the file if that process is gone`);
    }
    await sleep(POLL_MS);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => {});
  }
}

/** A long-held lock (the one renewer on this machine): taken when free or
 *  left by a dead process, else undefined. Returns what releases it. */
export async function tryHoldLock(path: string): Promise<(() => Promise<void>) | undefined> {
  for (let i = 0; i < 3; i++) {
    if (await tryCreate(path)) return () => unlink(path).catch(() => {});
    const h = await holder(path);
    if (h === undefined) continue;
    if (h.pid === process.pid) return undefined;
    if (pidAlive(h.pid)) return undefined;
    await takeOver(path, h.text);
  }
  return undefined;
}
