// Request/response header policies, compiled once per config. Values may
// carry the variables header-variables.ts knows (%REQ(name)%,
// %DOWNSTREAM_*%, %HOSTNAME%, ...); %CONTOUR_*% were expanded by the dag.
import type { HeaderOps } from '../dag/index.ts';
import { REQ_VARIABLE, requestHeaderVariable, variable, type OpContext, type Phase, type ValueFn } from './header-variables.ts';

export type { OpContext } from './header-variables.ts';

export interface CompiledHeaderOps {
  /** [lower-case name, value fn]: replaces what is there. */
  set: [string, ValueFn][];
  remove: string[];
  /** [lower-case name, value fn] appended to what is there. */
  add: [string, ValueFn][];
  empty: boolean;
}

const TOKEN = /%([^%\s]+)%/g;

/** The value's parts: literal text and variables, scanned left to right; a
 *  % that opens no known variable is literal, and scanning goes on from
 *  the character after it (as Contour's escaping leaves it to Envoy). */
export function compileValue(value: string, phase: Phase): ValueFn {
  if (value.indexOf('%') < 0) return () => value;
  const parts: (string | ValueFn)[] = [];
  let text = '';
  let i = 0;
  while (i < value.length) {
    const at = value.indexOf('%', i);
    if (at < 0) {
      text += value.slice(i);
      break;
    }
    text += value.slice(i, at);
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(value);
    let fn: ValueFn | undefined;
    if (m !== null && m.index === at) {
      const req = REQ_VARIABLE.exec(m[1]!);
      fn = req !== null ? requestHeaderVariable(req) : variable(m[1]!, phase);
    }
    if (fn === undefined) {
      text += '%';
      i = at + 1;
      continue;
    }
    if (text !== '') parts.push(text);
    text = '';
    parts.push(fn);
    i = at + m![0].length;
  }
  if (text !== '') parts.push(text);
  if (parts.length === 0) return () => '';
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

export function compileHeaderOps(ops: HeaderOps | undefined, phase: Phase = 'request'): CompiledHeaderOps {
  const set: [string, ValueFn][] = (ops?.set ?? []).map((s) => [s.name.toLowerCase(), compileValue(s.value, phase)]);
  const remove = (ops?.remove ?? []).map((n) => n.toLowerCase());
  const add: [string, ValueFn][] = (ops?.add ?? []).map((a) => [a.name.toLowerCase(), compileValue(a.value, phase)]);
  return { set, remove, add, empty: set.length === 0 && remove.length === 0 && add.length === 0 };
}

/** Applies ops to a flat [name, value, ...] list with lower-case names.
 *  A set whose value expands to nothing leaves the header as it was
 *  (Envoy skips empty values). */
export function applyToList(list: string[], ops: CompiledHeaderOps, ctx: OpContext): string[] {
  if (ops.empty) return list;
  let out = list;
  let setValues: (string | undefined)[] | undefined;
  if (ops.set.length > 0) {
    setValues = ops.set.map(([, fn]) => {
      const v = fn(ctx);
      return v !== '' && isValidHeaderValue(v) ? v : undefined;
    });
  }
  const names = new Set<string>(ops.remove);
  if (setValues !== undefined) for (let k = 0; k < ops.set.length; k++) if (setValues[k] !== undefined) names.add(ops.set[k]![0]);
  if (names.size > 0) {
    out = [];
    for (let i = 0; i < list.length; i += 2) {
      if (!names.has(list[i]!)) out.push(list[i]!, list[i + 1]!);
    }
  }
  if (setValues !== undefined) {
    for (let k = 0; k < ops.set.length; k++) {
      const v = setValues[k];
      if (v !== undefined) out.push(ops.set[k]![0], v);
    }
  }
  if (ops.add.length > 0) {
    if (out === list) out = list.slice();
    for (const [n, fn] of ops.add) {
      const v = fn(ctx);
      if (v !== '' && isValidHeaderValue(v)) out.push(n, v);
    }
  }
  return out;
}

/** Applies ops to a response header object (lower-case keys). */
export function applyToObject(obj: Record<string, string | string[] | undefined>, ops: CompiledHeaderOps, ctx: OpContext): void {
  if (ops.empty) return;
  for (const n of ops.remove) delete obj[n];
  for (const [n, fn] of ops.set) {
    const v = fn(ctx);
    if (v !== '' && isValidHeaderValue(v)) obj[n] = v;
  }
  for (const [n, fn] of ops.add) {
    const v = fn(ctx);
    if (v === '' || !isValidHeaderValue(v)) continue;
    const had = obj[n];
    obj[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
}

// A %REQ()% value comes from the client: never let it smuggle CR/LF/NUL.
const BAD_VALUE = /[\0\r\n]/;
function isValidHeaderValue(v: string): boolean {
  return !BAD_VALUE.test(v);
}
