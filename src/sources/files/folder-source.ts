// FolderSource: a manifests folder feeding an ObjectCache. Loads everything
// once, then (with watch on) re-reads only the files that changed. A file
// that stops parsing (or is empty) keeps its last good objects and the
// problem is reported with file:line; a deleted file takes its objects with it.

import { EventEmitter } from 'node:events';
import { watch, stat } from 'node:fs';
import type { FSWatcher, BigIntStats } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import {
  combineFiles,
  formatIssue,
  isManifestFile,
  keyOf,
  listManifestFiles,
  loadFile,
  ManifestFolderError,
  type AnyObject,
  type CachedObject,
  type FileLoadResult,
  type LoadIssue,
  type LoadOptions,
  type LoadResult,
  type ObjectCache,
} from '../../objects/index.ts';

const READ_BATCH = 16;

const statBig = promisify((p: string, cb: (err: NodeJS.ErrnoException | null, s: BigIntStats) => void) => stat(p, { bigint: true }, cb));

interface Generation {
  source: AnyObject; // as the loader produced it
  published: AnyObject; // as put into the cache (generation set)
  content: string;
  generation: number;
}

function contentOf(o: AnyObject): string {
  const { metadata: _m, status: _s, ...rest } = o as AnyObject & { status?: unknown };
  return JSON.stringify(rest);
}

/** Identity + size + times: a change to any means the file changed. */
async function signatureOf(abs: string): Promise<string> {
  try {
    const s = await statBig(abs);
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return 'unreadable';
  }
}

export interface FolderSourceOptions extends LoadOptions {
  /** Watch the folder and reload changed files (default false). */
  watch?: boolean;
  /** Quiet time after the last file event before reloading (default 20 ms:
   *  the events of one save arrive within a few milliseconds). */
  debounceMs?: number;
  /** Longest a reload waits while events keep coming (default 250 ms). */
  maxWaitMs?: number;
  /** Poll interval used when the platform cannot watch (default 1000 ms). */
  pollIntervalMs?: number;
}

interface FileState {
  /** The version whose objects are served. */
  good?: FileLoadResult;
  /** Problems of the latest read (may be newer than `good`). */
  errors: LoadIssue[];
  warnings: LoadIssue[];
  signature: string;
}

/** One problem, ready to log: `message` is `file:line: what is wrong`. */
export interface SourceProblem {
  message: string;
  severity: 'error' | 'warning';
  issue: LoadIssue;
}

export interface FolderSourceEvents {
  /** The cache changed; the argument is the whole current load result. */
  change: [LoadResult];
  /** One event per current error and warning (unknown kinds and fields),
   *  each time the set of them changes. */
  problem: [SourceProblem];
}

export class FolderSource extends EventEmitter<FolderSourceEvents> {
  readonly dir: string;
  readonly #cache: ObjectCache;
  readonly #opts: FolderSourceOptions;
  #files = new Map<string, FileState>();
  #folderIssues: LoadIssue[] = [];
  #watcher: FSWatcher | undefined;
  #poller: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending = new Set<string>();
  #pendingSince: number | undefined;
  #fullRescan = false;
  #running: Promise<void> | undefined;
  #stopped = false;
  #ready = false;
  /** Watching itself failed (not just a removed folder): keep polling. */
  #watchBroken = false;
  #lastProblemText = '';
  #last: LoadResult = { objects: [], rejected: [], errors: [], warnings: [], files: [] };
  #gens = new Map<string, Generation>();

  constructor(dir: string, cache: ObjectCache, opts: FolderSourceOptions = {}) {
    super();
    this.dir = path.resolve(dir);
    this.#cache = cache;
    this.#opts = opts;
  }

  /** Initial load. Throws ManifestFolderError when the folder cannot be read. */
  async start(): Promise<LoadResult> {
    await this.#rescan(new Set(), true);
    this.#ready = true;
    if (this.#opts.watch) this.#startWatching();
    return this.#last;
  }

  /** True once the first full load is in the cache. */
  ready(): boolean {
    return this.#ready;
  }

  /** The latest combined result (objects served, current problems). */
  get result(): LoadResult {
    return this.#last;
  }

  /** Re-read the whole folder now (changed files only are parsed again). */
  async reload(): Promise<void> {
    this.#fullRescan = true;
    await this.#flush();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#poller) clearInterval(this.#poller);
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #startWatching(): void {
    try {
      this.#watcher = watch(this.dir, { recursive: true, persistent: true }, (_event, filename) => {
        if (filename === null) this.#fullRescan = true;
        else this.#pending.add(String(filename).split(path.sep).join('/'));
        this.#schedule();
      });
      this.#watcher.on('error', (err) => this.#watchFailed(err, true));
    } catch (err) {
      this.#watchFailed(err, true);
    }
  }

  #watchFailed(err: unknown, broken = false): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#watchBroken ||= broken;
    if (this.#stopped || this.#poller) return;
    const every = this.#opts.pollIntervalMs ?? 1000;
    this.#report([{ file: this.dir, message: `cannot watch the folder (${(err as Error)?.message ?? String(err)}); checking for changes every ${every} ms instead` }], true);
    this.#poller = setInterval(() => {
      this.#fullRescan = true;
      this.#schedule();
    }, every);
    this.#poller.unref?.();
  }

  #schedule(): void {
    if (this.#stopped) return;
    // Wait for a quiet moment, but not forever: a folder written to without
    // pause still reloads every maxWaitMs.
    const now = performance.now();
    this.#pendingSince ??= now;
    const quiet = this.#opts.debounceMs ?? 20;
    const left = this.#pendingSince + (this.#opts.maxWaitMs ?? 250) - now;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#pendingSince = undefined;
        void this.#flush();
      },
      Math.max(0, Math.min(quiet, left)),
    );
  }

  async #flush(): Promise<void> {
    // One reload at a time; events arriving meanwhile are handled after.
    while (this.#running) await this.#running;
    if (this.#stopped) return;
    const touched = this.#pending;
    this.#pending = new Set();
    const full = this.#fullRescan;
    this.#fullRescan = false;
    this.#running = (full ? this.#rescan(touched, false) : this.#update(touched)).catch((err: unknown) => {
      this.#report([{ file: this.dir, message: err instanceof Error ? err.message : String(err) }], true);
    });
    try {
      await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  /** Handle the paths named by watch events without listing the whole
   *  folder: a file is re-read, a folder is rescanned below it, a path that
   *  is gone takes its file (or everything below it) away. Paths through dot
   *  folders are ignored, except Kubernetes' `..data` symlink swap of a
   *  mounted ConfigMap, which needs a full rescan. */
  async #update(touched: Set<string>): Promise<void> {
    let changed = false;
    for (const rel of touched) {
      const segs = rel.split('/');
      if (segs.some((s) => s.startsWith('.'))) {
        if (segs.some((s) => s === '..data' || s.startsWith('..'))) return this.#rescan(touched, false);
        continue;
      }
      const abs = path.join(this.dir, ...segs);
      let st: BigIntStats | undefined;
      try {
        st = await statBig(abs);
      } catch {
        st = undefined;
      }
      if (st?.isDirectory()) {
        const below: LoadIssue[] = [];
        let files: string[];
        try {
          files = (await listManifestFiles(abs, below)).map((f) => `${rel}/${f}`);
        } catch {
          files = [];
        }
        const present = new Set(files);
        for (const known of [...this.#files.keys()]) {
          if (known.startsWith(`${rel}/`) && !present.has(known)) {
            this.#files.delete(known);
            changed = true;
          }
        }
        for (const f of files) changed = (await this.#readOne(f, touched.has(f))) || changed;
      } else if (st?.isFile() && isManifestFile(rel)) {
        changed = (await this.#readOne(rel, true)) || changed;
      } else {
        // gone (or no longer a manifest): drop the file and anything below
        for (const known of [...this.#files.keys()]) {
          if (known === rel || known.startsWith(`${rel}/`)) {
            this.#files.delete(known);
            changed = true;
          }
        }
      }
      if (this.#stopped) return;
    }
    if (changed) this.#publish();
    // A watch on a folder that was removed sees nothing more, even when the
    // folder comes back: poll until it is there again.
    if (this.#watcher && (await signatureOf(this.dir)) === 'unreadable') {
      this.#watchFailed(new Error('the folder was removed'));
      this.#fullRescan = true;
    }
  }

  /** Re-read one file if its stat signature changed (or `force`). Returns
   *  whether anything was re-read. */
  async #readOne(rel: string, force: boolean): Promise<boolean> {
    const abs = path.join(this.dir, ...rel.split('/'));
    const signature = await signatureOf(abs);
    const prev = this.#files.get(rel);
    if (prev && prev.signature === signature && !force) return false;
    const result = await loadFile(abs, rel, this.#opts);
    // A writer that was busy with the file while we read it (truncate, then
    // write) can leave us an empty or half-written copy: read it again once
    // the writer is done, and serve what we have meanwhile.
    if (signature !== 'unreadable' && (await signatureOf(abs)) !== signature) {
      this.#pending.add(rel);
      this.#schedule();
      return false;
    }
    const state: FileState = { good: prev?.good, errors: result.errors, warnings: result.warnings, signature };
    const kept = prev?.good?.entries.length ?? 0;
    if (result.bytes === 0 && kept > 0) {
      // A file saved in place is empty between the writer's truncate and
      // its write, and that moment can last: a truncate waiting on a busy
      // disk's journal was seen to take over 800 ms. No wait is long enough
      // to tell it from a file emptied on purpose, so an empty file never
      // takes objects away; deleting the file (or leaving only a comment
      // in it) does.
      state.warnings = [
        { file: rel, message: `the file is empty; keeping its last ${kept} object${kept === 1 ? '' : 's'} (delete the file to remove them)` },
      ];
    } else if (result.ok || !prev?.good) {
      // A first version that partly failed still serves what did load.
      state.good = result;
    } else {
      const n = prev.good.entries.length;
      state.errors = [
        ...result.errors,
        { file: rel, message: `keeping the last good version of this file (${n} object${n === 1 ? '' : 's'}) until it is fixed` },
      ];
    }
    this.#files.set(rel, state);
    return true;
  }

  /** List the folder, re-read files that are new, changed (stat signature)
   *  or named by a watch event, drop files that are gone. */
  async #rescan(touched: Set<string>, initial: boolean): Promise<void> {
    const listIssues: LoadIssue[] = [];
    let files: string[];
    try {
      files = await listManifestFiles(this.dir, listIssues);
    } catch (err) {
      if (initial) throw err;
      // The folder vanished or became unreadable: keep serving what we have.
      const message = err instanceof ManifestFolderError ? err.message : String(err);
      this.#folderIssues = [{ file: this.dir, message: `${message}; keeping the objects loaded before` }];
      this.#publish();
      return;
    }
    this.#folderIssues = listIssues;
    if (this.#poller && this.#opts.watch && !this.#watcher && !this.#stopped && !this.#watchBroken) {
      // The folder is back: watch it again.
      clearInterval(this.#poller);
      this.#poller = undefined;
      this.#startWatching();
    }
    const present = new Set(files);
    for (const rel of [...this.#files.keys()]) if (!present.has(rel)) this.#files.delete(rel);
    // Read in small parallel batches: the disk waits overlap, parsing does not.
    for (let i = 0; i < files.length; i += READ_BATCH) {
      await Promise.all(files.slice(i, i + READ_BATCH).map((rel) => this.#readOne(rel, touched.has(rel))));
      if (this.#stopped && !initial) return;
    }
    this.#publish();
  }

  #publish(): void {
    const views: FileLoadResult[] = [];
    for (const [file, st] of this.#files) {
      views.push({ file, ok: true, entries: st.good?.entries ?? [], errors: st.errors, warnings: st.warnings });
    }
    const merged = combineFiles(views);
    merged.errors.unshift(...this.#folderIssues);
    merged.objects = this.#generations(merged.objects);
    this.#last = merged;
    const changed = this.#cache.replaceAll(merged.objects, merged.rejected);
    if (changed) this.emit('change', merged);
    this.#report(merged.errors, false, merged.warnings);
  }

  /** Like the API server, bump metadata.generation when an object's content
   *  (everything but metadata and status) changes between loads, so statuses'
   *  observedGeneration follows the edits. Manifests that set a generation
   *  other than 1 keep theirs. */
  #generations(objects: CachedObject[]): CachedObject[] {
    const next = new Map<string, Generation>();
    const out = objects.map((entry) => {
      const o = entry.object;
      const key = keyOf(o);
      const prev = this.#gens.get(key);
      if (prev && prev.source === o) {
        next.set(key, prev);
        return prev.published === o ? entry : { ...entry, object: prev.published };
      }
      const content = contentOf(o);
      let generation = o.metadata.generation ?? 1;
      if (prev && generation === 1) generation = prev.content === content ? prev.generation : prev.generation + 1;
      const published = generation === (o.metadata.generation ?? 1) ? o : ({ ...o, metadata: { ...o.metadata, generation } } as AnyObject);
      next.set(key, { source: o, published, content, generation });
      return published === o ? entry : { ...entry, object: published };
    });
    this.#gens = next;
    return out;
  }

  #report(errors: LoadIssue[], always: boolean, warnings: LoadIssue[] = []): void {
    const text = [...errors.map(formatIssue), '', ...warnings.map(formatIssue)].join('\n');
    if (!always && text === this.#lastProblemText) return;
    if (!always) this.#lastProblemText = text;
    for (const issue of errors) this.emit('problem', { message: formatIssue(issue), severity: 'error', issue });
    for (const issue of warnings) this.emit('problem', { message: formatIssue({ ...issue, message: `warning: ${issue.message}` }), severity: 'warning', issue });
  }
}
