// Go's time.ParseDuration and Contour's timeout.Parse, with Go's error
// texts, because Contour's status messages quote them.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5
  'μs': 1e-3, // U+03BC
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

function quote(s: string): string {
  return JSON.stringify(s);
}

export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

/** time.ParseDuration: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, result in ms. */
export function parseGoDuration(orig: string): DurationResult {
  const invalid: DurationResult = { ok: false, error: `time: invalid duration ${quote(orig)}` };
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, ms: 0 };
  if (s === '') return invalid;
  let total = 0;
  while (s !== '') {
    const c = s[0]!;
    if (!(c === '.' || (c >= '0' && c <= '9'))) return invalid;
    const m = /^([0-9]*)(\.([0-9]*))?/.exec(s)!;
    const pre = m[1]!.length > 0;
    const post = m[3] !== undefined && m[3].length > 0;
    if (!pre && !post) return invalid;
    s = s.slice(m[0].length);
    let i = 0;
    while (i < s.length) {
      const ch = s[i]!;
      if (ch === '.' || (ch >= '0' && ch <= '9')) break;
      i++;
    }
    if (i === 0) return { ok: false, error: `time: missing unit in duration ${quote(orig)}` };
    const u = s.slice(0, i);
    s = s.slice(i);
    const unit = UNIT_MS[u];
    if (unit === undefined) return { ok: false, error: `time: unknown unit ${quote(u)} in duration ${quote(orig)}` };
    const value = Number(`${m[1] || '0'}.${m[3] ?? ''}`.replace(/\.$/, ''));
    total += value * unit;
    // Go's int64 nanoseconds overflow at ~292 years.
    if (total * 1e6 > 9.223372036854775e18) return invalid;
  }
  return { ok: true, ms: neg ? -total : total };
}

/** timeout.Parse: "" -> default, infinity/infinite -> disabled, "0s" -> default. */
export type Timeout = { kind: 'default' } | { kind: 'disabled' } | { kind: 'duration'; ms: number };

const DEFAULT_TIMEOUT: { ok: true; timeout: Timeout } = { ok: true, timeout: { kind: 'default' } };

type TimeoutResult = { ok: true; timeout: Timeout } | { ok: false; error: string };

/** Few distinct timeout strings exist in a config: parse each once. */
const timeoutMemo = new Map<string, TimeoutResult>();

export function parseTimeout(v: string): TimeoutResult {
  if (v === '') return DEFAULT_TIMEOUT;
  let r = timeoutMemo.get(v);
  if (!r) {
    r = parseTimeoutText(v);
    if (timeoutMemo.size > 10_000) timeoutMemo.clear();
    timeoutMemo.set(v, r);
  }
  return r;
}

function parseTimeoutText(v: string): TimeoutResult {
  if (v === 'infinity' || v === 'infinite') return { ok: true, timeout: { kind: 'disabled' } };
  const d = parseGoDuration(v);
  if (!d.ok) return { ok: false, error: `unable to parse timeout string ${quote(v)}: ${d.error}` };
  // Zero and negative durations mean "use the default", as Envoy treats them.
  if (d.ms <= 0) return { ok: true, timeout: { kind: 'default' } };
  return { ok: true, timeout: { kind: 'duration', ms: d.ms } };
}

/** Milliseconds for the ProxyConfig: default -> dflt, disabled -> null. */
export function timeoutMs(t: Timeout, dflt: number | null): number | null {
  if (t.kind === 'default') return dflt;
  if (t.kind === 'disabled') return null;
  return t.ms;
}
