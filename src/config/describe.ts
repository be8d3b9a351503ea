// How config problems name a value they found: "a list", "a string ("x")".

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `a string (${JSON.stringify(v)})`;
  return `${typeof v} ${String(v)}`;
}
