// Zero-value readers for values that arrive from manifests or the API
// server. Wrong types read as the zero value, never as an exception.

export type Rec = Record<string, unknown>;

export function rec(v: unknown): Rec | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : null;
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function optStr(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

export function bool(v: unknown): boolean {
  return v === true;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function strArr(v: unknown): string[] {
  return arr(v).map(str);
}

/** Own string-keyed string entries of a map-like value. */
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const r = rec(v);
  if (!r) return out;
  for (const k of Object.keys(r)) {
    const val = r[k];
    if (typeof val === 'string') out[k] = val;
  }
  return out;
}
