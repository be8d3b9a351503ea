// Loading a manifests folder: every .yaml/.yml/.json file below it (dot
// files and dot folders skipped), each document checked on its own so one
// bad document never hides the others. loadFile() is the per-file step the
// folder source reuses to keep the last good version of one file.

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { CachedObject } from './cache.ts';
import type { RejectedObject } from './types.ts';
import { keyOf } from './types.ts';
import type { LoadIssue } from './issues.ts';
import { compareIssues } from './issues.ts';
import { parseJson, parseYaml } from './parse.ts';
import type { FileEntry, NormalizeOutput } from './normalize.ts';
import { normalizeDocument } from './normalize.ts';

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface LoadOptions {
  /** Files larger than this are refused with an error (default 16 MiB). */
  maxFileBytes?: number;
  /** loadFolder: name files `<displayDir>/<path below DIR>` in messages and
   *  sources (the CLI passes DIR as the user typed it); default: relative. */
  displayDir?: string;
}

/** What one file holds. `ok` is false when the file could not be read or a
 *  document in it did not parse: the folder source then keeps that file's
 *  last good entries. */
export interface FileLoadResult {
  file: string;
  ok: boolean;
  /** Bytes read (0 for an empty file; undefined when it could not be read). */
  bytes?: number;
  entries: FileEntry[];
  errors: LoadIssue[];
  warnings: LoadIssue[];
}

export interface LoadResult {
  objects: CachedObject[];
  rejected: RejectedObject[];
  errors: LoadIssue[];
  warnings: LoadIssue[];
  /** Relative names of the files read, sorted. */
  files: string[];
}

/** The manifests folder itself is missing or unreadable (CLI exit 2). */
export class ManifestFolderError extends Error {
  readonly dir: string;
  constructor(dir: string, message: string) {
    super(message);
    this.name = 'ManifestFolderError';
    this.dir = dir;
  }
}

export function isManifestFile(name: string): boolean {
  const base = path.basename(name);
  if (base.startsWith('.')) return false;
  return /\.(ya?ml|json)$/i.test(base);
}

/** Parse one file. `relName` is how messages name it. Never throws. */
export async function loadFile(filePath: string, relName: string, opts: LoadOptions = {}): Promise<FileLoadResult> {
  const max = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const result: FileLoadResult = { file: relName, ok: true, entries: [], errors: [], warnings: [] };
  let buf: Buffer;
  try {
    const st = await stat(filePath);
    if (!st.isFile()) {
      result.ok = false;
      result.errors.push({ file: relName, message: 'not a regular file' });
      return result;
    }
    if (st.size > max) {
      result.ok = false;
      result.errors.push({ file: relName, message: `file is ${mib(st.size)}, over the ${mib(max)} limit per manifest file: split it into smaller files` });
      return result;
    }
    buf = await readFile(filePath);
  } catch (err) {
    result.ok = false;
    result.errors.push({ file: relName, message: `cannot read file: ${fsMessage(err)}` });
    return result;
  }
  if (buf.length > max) {
    // grew between stat and read
    result.ok = false;
    result.errors.push({ file: relName, message: `file is over the ${mib(max)} limit per manifest file: split it into smaller files` });
    return result;
  }
  result.bytes = buf.length;
  return parseManifestText(buf, relName, result);
}

/** Parse manifest content already in memory (also used by tests). */
export function loadText(content: string | Buffer, relName: string): FileLoadResult {
  return parseManifestText(content, relName, { file: relName, ok: true, entries: [], errors: [], warnings: [] });
}

function parseManifestText(content: string | Buffer, relName: string, result: FileLoadResult): FileLoadResult {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const nul = buf.subarray(0, 8192).indexOf(0);
  if (nul !== -1) {
    result.ok = false;
    result.errors.push({ file: relName, message: 'file looks binary (contains NUL bytes): manifests must be UTF-8 YAML or JSON text' });
    return result;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    result.ok = false;
    result.errors.push({ file: relName, message: 'file is not valid UTF-8: save it as UTF-8 text' });
    return result;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parsed = /\.json$/i.test(relName) ? parseJson(text) : parseYaml(text);
  for (const f of parsed.failures) {
    result.ok = false;
    result.errors.push({ file: relName, line: f.line, col: f.col, message: f.message });
  }
  const out: NormalizeOutput = { entries: result.entries, errors: result.errors, warnings: result.warnings };
  for (const doc of parsed.documents) {
    try {
      normalizeDocument(relName, doc, out);
    } catch (err) {
      result.errors.push({ file: relName, line: doc.line, message: `could not be loaded: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return result;
}

/** Every manifest file below `dir`, as sorted relative paths (POSIX '/').
 *  Throws ManifestFolderError when `dir` itself cannot be read. */
export async function listManifestFiles(dir: string, issues: LoadIssue[] = []): Promise<string[]> {
  let st;
  try {
    st = await stat(dir);
  } catch (err) {
    throw new ManifestFolderError(dir, `cannot read manifests folder ${dir}: ${fsMessage(err)}`);
  }
  if (!st.isDirectory()) throw new ManifestFolderError(dir, `${dir} is not a folder: pass the folder that holds the manifests`);
  const files: string[] = [];
  const seen = new Set<string>();
  /** Fatal for the manifests folder itself; below it, an issue on that folder. */
  const unreadableFolder = (err: unknown, rel: string, top: boolean): void => {
    if (top) throw new ManifestFolderError(dir, `cannot read manifests folder ${dir}: ${fsMessage(err)}`);
    issues.push({ file: rel, message: `cannot read folder: ${fsMessage(err)}` });
  };
  const walk = async (abs: string, rel: string, top: boolean): Promise<void> => {
    let real: string;
    try {
      real = await realpath(abs);
    } catch (err) {
      unreadableFolder(err, rel, top);
      return;
    }
    if (seen.has(real)) return; // a symlink loop or a folder linked twice
    seen.add(real);
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (err) {
      unreadableFolder(err, rel, top);
      return;
    }
    names.sort();
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const childAbs = path.join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      let cst;
      try {
        cst = await stat(childAbs); // follows symlinks (ConfigMap mounts use them)
      } catch (err) {
        if (isManifestFile(name)) issues.push({ file: childRel, message: `cannot read file: ${fsMessage(err)}` });
        continue;
      }
      if (cst.isDirectory()) await walk(childAbs, childRel, false);
      else if (cst.isFile() && isManifestFile(name)) files.push(childRel);
    }
  };
  await walk(dir, '', true);
  return files.sort();
}

/** Load a folder recursively. Throws ManifestFolderError only when the
 *  folder itself cannot be read; everything else is in the result. */
export async function loadFolder(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const listIssues: LoadIssue[] = [];
  const files = await listManifestFiles(dir, listIssues);
  const results: FileLoadResult[] = [];
  // Small parallel batches: disk waits overlap; parsing stays sequential.
  for (let i = 0; i < files.length; i += 16) {
    const batch = files.slice(i, i + 16);
    results.push(...(await Promise.all(batch.map((rel) => loadFile(path.join(dir, ...rel.split('/')), displayName(rel, opts.displayDir), opts)))));
  }
  const merged = combineFiles(results);
  merged.files = files;
  merged.errors.unshift(...listIssues.map((i) => ({ ...i, file: displayName(i.file, opts.displayDir) })));
  merged.errors.sort(compareIssues);
  return merged;
}

/** Merge per-file results in file-name order. The same (kind, namespace,
 *  name) twice: the first definition wins, the second is an error naming
 *  both places, unless the two say the same (a Namespace repeated in each
 *  file of a set, as in Contour's examples), which kubectl would apply as
 *  one. */
export function combineFiles(results: readonly FileLoadResult[]): LoadResult {
  const sorted = [...results].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const out: LoadResult = { objects: [], rejected: [], errors: [], warnings: [], files: sorted.map((r) => r.file) };
  const firstSeen = new Map<string, { file: string; line: number; entry: FileEntry }>();
  for (const r of sorted) {
    out.errors.push(...r.errors);
    out.warnings.push(...r.warnings);
    for (const e of r.entries) {
      const key = keyOf(e);
      const prev = firstSeen.get(key);
      if (prev !== undefined) {
        if (sameDefinition(prev.entry, e)) continue;
        out.errors.push({
          file: r.file,
          line: e.line,
          message: `duplicate ${e.kind} ${e.namespace}/${e.name}: already defined at ${prev.file}:${prev.line}; this definition is ignored (remove one of them)`,
          object: { kind: e.kind, namespace: e.namespace, name: e.name },
        });
        continue;
      }
      const source = { file: r.file, line: e.line };
      firstSeen.set(key, { ...source, entry: e });
      if (e.object) out.objects.push({ object: e.object, source });
      else if (e.rejected) out.rejected.push(e.rejected);
    }
  }
  out.errors.sort(compareIssues);
  out.warnings.sort(compareIssues);
  return out;
}

function displayName(rel: string, displayDir: string | undefined): string {
  if (displayDir === undefined || displayDir === '' || displayDir === '.') return rel;
  return path.posix.join(displayDir.split(path.sep).join('/'), rel);
}

function mib(n: number): string {
  if (n < 1024 * 1024) return `${n} bytes`;
  return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
}

function fsMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'not a folder';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return e instanceof Error ? e.message : String(err);
  }
}

/** Two definitions of one object that read the same: equal objects as
 *  loaded (or the same refusal). */
function sameDefinition(a: FileEntry, b: FileEntry): boolean {
  if (a.object !== undefined && b.object !== undefined) return isDeepStrictEqual(a.object, b.object);
  if (a.rejected !== undefined && b.rejected !== undefined) return isDeepStrictEqual(a.rejected.errors, b.rejected.errors);
  return false;
}
