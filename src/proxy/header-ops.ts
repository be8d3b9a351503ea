// Request/response header policies, compiled once per config. Values may
// carry %REQ(name)%, %CONTOUR_NAMESPACE%, %CONTOUR_SERVICE_NAME%,
// %CONTOUR_SERVICE_PORT% and %DOWNSTREAM_REMOTE_ADDRESS[_WITHOUT_PORT]%.
import type { HeaderOps } from '../dag/index.ts';

export interface OpContext {
  /** Downstream request header (lower-case name). */
  header(name: string): string | undefined;
  clientAddress: string;
  clientPort: number;
  namespace: string;
  service: string;
  servicePort: number;
}

type ValueFn = (c: OpContext) => string;

export interface CompiledHeaderOps {
  /** [lower-case name, value fn] */
  set: [string, ValueFn][];
  remove: string[];
  /** [lower-case name, literal value] appended to what is there. */
  add: [string, string][];
  empty: boolean;
}

const VAR = /%(REQ\(([^)]+)\)|CONTOUR_NAMESPACE|CONTOUR_SERVICE_NAME|CONTOUR_SERVICE_PORT|DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT|DOWNSTREAM_REMOTE_ADDRESS)%/g;

function compileValue(value: string): ValueFn {
  if (value.indexOf('%') < 0) return () => value;
  const parts: (string | ValueFn)[] = [];
  let last = 0;
  for (const m of value.matchAll(VAR)) {
    if (m.index > last) parts.push(value.slice(last, m.index));
    const name = m[1]!;
    if (m[2] !== undefined) {
      const h = m[2].trim().toLowerCase();
      parts.push((c) => c.header(h) ?? '');
    } else if (name === 'CONTOUR_NAMESPACE') parts.push((c) => c.namespace);
    else if (name === 'CONTOUR_SERVICE_NAME') parts.push((c) => c.service);
    else if (name === 'CONTOUR_SERVICE_PORT') parts.push((c) => String(c.servicePort));
    else if (name === 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT') parts.push((c) => c.clientAddress);
    else parts.push((c) => (c.clientAddress.includes(':') ? `[${c.clientAddress}]:${c.clientPort}` : `${c.clientAddress}:${c.clientPort}`));
    last = m.index + m[0].length;
  }
  if (last < value.length) parts.push(value.slice(last));
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const s = parts[0];
    return () => s;
  }
  return (c) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(c);
    return out;
  };
}

export function compileHeaderOps(ops: HeaderOps | undefined): CompiledHeaderOps {
  const set: [string, ValueFn][] = (ops?.set ?? []).map((s) => [s.name.toLowerCase(), compileValue(s.value)]);
  const remove = (ops?.remove ?? []).map((n) => n.toLowerCase());
  const add: [string, string][] = (ops?.add ?? []).map((a) => [a.name.toLowerCase(), a.value]);
  return { set, remove, add, empty: set.length === 0 && remove.length === 0 && add.length === 0 };
}

/** Applies ops to a flat [name, value, ...] list with lower-case names. */
export function applyToList(list: string[], ops: CompiledHeaderOps, ctx: OpContext): string[] {
  if (ops.empty) return list;
  let out = list;
  const drop = ops.remove.length + ops.set.length;
  if (drop > 0) {
    const names = new Set<string>(ops.remove);
    for (const [n] of ops.set) names.add(n);
    out = [];
    for (let i = 0; i < list.length; i += 2) {
      if (!names.has(list[i]!)) out.push(list[i]!, list[i + 1]!);
    }
  }
  for (const [n, fn] of ops.set) {
    const v = fn(ctx);
    if (isValidHeaderValue(v)) out.push(n, v);
  }
  if (ops.add.length > 0) {
    if (out === list) out = list.slice();
    for (const [n, v] of ops.add) if (isValidHeaderValue(v)) out.push(n, v);
  }
  return out;
}

/** Applies ops to a response header object (lower-case keys). */
export function applyToObject(obj: Record<string, string | string[] | undefined>, ops: CompiledHeaderOps, ctx: OpContext): void {
  if (ops.empty) return;
  for (const n of ops.remove) delete obj[n];
  for (const [n, fn] of ops.set) {
    const v = fn(ctx);
    if (isValidHeaderValue(v)) obj[n] = v;
    else delete obj[n];
  }
  for (const [n, v] of ops.add) {
    if (!isValidHeaderValue(v)) continue;
    const had = obj[n];
    obj[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
}

// A %REQ()% value comes from the client: never let it smuggle CR/LF/NUL.
const BAD_VALUE = /[\0\r\n]/;
function isValidHeaderValue(v: string): boolean {
  return !BAD_VALUE.test(v);
}
