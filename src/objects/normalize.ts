// One raw document -> objects isobar reads. Checks identity (apiVersion,
// kind, metadata.name), defaults the namespace, runs the schema, and turns
// Secrets' base64 `data` + `stringData` into decoded `data`. Never throws:
// every problem becomes a LoadIssue or a RejectedObject.

import type { AnyObject, FieldError, Kind, RejectedObject } from './types.ts';
import type { LoadIssue } from './issues.ts';
import type { RawDocument } from './parse.ts';
import { CLUSTER_SCOPED, isListKind, knownKind, otherVersions } from './kinds.ts';
import { pathText, validateObject } from './schema.ts';

/** One object found in a file: valid or rejected. */
export interface FileEntry {
  kind: Kind;
  namespace: string;
  name: string;
  line: number;
  object?: AnyObject;
  rejected?: RejectedObject;
}

export interface NormalizeOutput {
  entries: FileEntry[];
  errors: LoadIssue[];
  warnings: LoadIssue[];
}

export function normalizeDocument(file: string, doc: RawDocument, out: NormalizeOutput): void {
  normalizeValue(file, doc, doc.value, [], doc.line, out, 0);
}

function normalizeValue(
  file: string,
  doc: RawDocument,
  value: unknown,
  at: (string | number)[],
  line: number,
  out: NormalizeOutput,
  depth: number,
): void {
  if (value === null || value === undefined) return; // empty document
  const where = at.length ? `${pathText(at)}: ` : '';
  if (!isPlainObject(value)) {
    out.errors.push({
      file,
      line,
      message: `${where}expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found ${describe(value)}`,
    });
    return;
  }
  const apiVersion = value['apiVersion'];
  const kind = value['kind'];
  if (typeof kind !== 'string' || kind === '') {
    out.errors.push({ file, line, message: `${where}object has no kind: add e.g. "kind: HTTPProxy"` });
    return;
  }
  if (isListKind(kind) && depth === 0) {
    const items = value['items'];
    if (items === undefined || items === null) return;
    if (!Array.isArray(items)) {
      out.errors.push({ file, line: doc.lineOf([...at, 'items']) ?? line, message: `${kind}: items must be a list, found ${describe(items)}` });
      return;
    }
    const fast = doc.itemLines?.length === items.length ? doc.itemLines : undefined;
    items.forEach((item, i) => {
      const itemAt = [...at, 'items', i];
      normalizeValue(file, doc, item, itemAt, fast?.[i] ?? doc.lineOf(itemAt) ?? line, out, depth + 1);
    });
    return;
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    out.errors.push({ file, line, message: `${where}${kind} has no apiVersion: add e.g. "apiVersion: v1"` });
    return;
  }
  const known = knownKind(apiVersion, kind);
  if (!known) {
    const versions = otherVersions(apiVersion, kind);
    if (versions !== undefined) {
      out.errors.push({ file, line, message: `${where}${kind} (${apiVersion}): not a version isobar reads, nor one the API server serves; use apiVersion ${versions.join(' or ')}` });
      return;
    }
    out.warnings.push({ file, line, message: `${where}skipping ${kind} (${apiVersion}): isobar does not read this kind` });
    return;
  }
  const meta = value['metadata'];
  if (!isPlainObject(meta)) {
    out.errors.push({ file, line, message: `${where}${kind} has no metadata: add metadata.name` });
    return;
  }
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') {
    out.errors.push({
      file,
      line: doc.lineOf([...at, 'metadata']) ?? line,
      message: `${where}${kind}: metadata.name is required${name === undefined || name === '' ? '' : ` (a string, found ${describe(name)})`}`,
    });
    return;
  }
  const nsRaw = meta['namespace'];
  if (nsRaw !== undefined && nsRaw !== null && typeof nsRaw !== 'string') {
    out.errors.push({
      file,
      line: doc.lineOf([...at, 'metadata', 'namespace']) ?? line,
      message: `${where}${kind} ${name}: metadata.namespace must be a string, found ${describe(nsRaw)}`,
    });
    return;
  }
  const namespace = CLUSTER_SCOPED.has(known) ? '' : typeof nsRaw === 'string' && nsRaw !== '' ? nsRaw : 'default';
  const ident = { kind: known, namespace, name };
  const label = namespace === "" ? `${known} ${name}` : `${known} ${namespace}/${name}`;

  const reject = (errors: FieldError[]): void => {
    const firstLine = errors.length ? (doc.lineOf([...at, ...splitPath(errors[0]!.path)]) ?? line) : line;
    out.entries.push({ ...ident, line, rejected: { ...ident, source: { file, line }, errors } });
    for (const e of errors) {
      out.errors.push({
        file,
        line: e === errors[0] ? firstLine : (doc.lineOf([...at, ...splitPath(e.path)]) ?? line),
        message: e.path ? `${label}: ${e.path}: ${e.message}` : `${label}: ${e.message}`,
        object: ident,
      });
    }
  };

  let checked;
  try {
    checked = validateObject(known, value);
  } catch (err) {
    // A validator bug must not take the other objects down with it.
    reject([{ path: '', message: `could not be validated: ${err instanceof Error ? err.message : String(err)}` }]);
    return;
  }
  for (const w of checked.warnings) {
    out.warnings.push({
      file,
      line: doc.lineOf([...at, ...splitPath(w.path)]) ?? line,
      message: `${label}: ${w.path}: ${w.message}`,
      object: ident,
    });
  }
  if (checked.errors.length > 0) {
    reject(checked.errors);
    return;
  }
  const obj = checked.value;
  const metadata: Record<string, unknown> = { ...(obj['metadata'] as Record<string, unknown>), name, namespace };
  // The API server sets generation 1 on create; statuses report it as
  // observedGeneration, so a file object looks like a freshly applied one.
  if (metadata['generation'] === undefined) metadata['generation'] = 1;
  let object: Record<string, unknown> = { ...obj, metadata };
  if (known === 'Secret') {
    const decoded = decodeSecret(obj);
    if ('errors' in decoded) {
      reject(decoded.errors);
      return;
    }
    object = { apiVersion, kind, metadata, type: decoded.type, data: decoded.data };
  }
  out.entries.push({ ...ident, line, object: object as unknown as AnyObject });
}

/** The API server's merge: base64 `data`, then `stringData` on top. */
function decodeSecret(obj: Record<string, unknown>): { type: string; data: Record<string, string> } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const data: Record<string, string> = {};
  const rawData = obj['data'];
  if (isPlainObject(rawData)) {
    for (const [k, v] of Object.entries(rawData)) {
      if (typeof v !== 'string') {
        errors.push({ path: `data[${k}]`, message: `must be a base64 string, found ${describe(v)}` });
        continue;
      }
      const clean = v.replace(/[\r\n]/g, '');
      if (!isBase64(clean)) {
        errors.push({ path: `data[${k}]`, message: 'illegal base64 data: encode the value with `base64 -w0`, or put plain text under stringData' });
        continue;
      }
      data[k] = Buffer.from(clean, 'base64').toString('utf8');
    }
  }
  const stringData = obj['stringData'];
  if (isPlainObject(stringData)) {
    for (const [k, v] of Object.entries(stringData)) {
      if (typeof v !== 'string') {
        errors.push({ path: `stringData[${k}]`, message: `must be a string, found ${describe(v)}` });
        continue;
      }
      data[k] = v;
    }
  }
  if (errors.length) return { errors };
  const type = typeof obj['type'] === 'string' && obj['type'] !== '' ? (obj['type'] as string) : 'Opaque';
  return { type, data };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isBase64(s: string): boolean {
  return BASE64.test(s);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'object':
      return 'a mapping';
    case 'string':
      return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)})`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    default:
      return typeof v;
  }
}

/** Inverse of pathText, for finding the line of a field. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(/^\d+$/.test(m[2]) ? Number(m[2]) : m[2]);
  }
  return out;
}
