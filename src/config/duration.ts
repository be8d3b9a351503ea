// Go duration syntax ("2s", "500ms", "1m30s", "1.5h"), as Contour's config
// file and CRDs use it. Returns milliseconds.

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration into milliseconds; throws an Error naming the value. */
export function parseDuration(text: string): number {
  const orig = text;
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`invalid duration ${JSON.stringify(orig)}: use Go syntax such as "2s", "500ms" or "1m30s"`);
  const re = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) {
      const unitless = /^\d+(\.\d*)?$/.test(s.slice(pos));
      throw new Error(
        `invalid duration ${JSON.stringify(orig)}: ${unitless ? 'missing unit' : 'unknown unit or syntax'}: use Go syntax such as "2s", "500ms" or "1m30s"`,
      );
    }
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return sign * total;
}

const GO_UNITS: Record<string, number> = UNITS;

/** Go's time.ParseDuration, with Go's error text (Contour quotes it in its
 *  own errors: `invalid request timeout "1x": time: unknown unit "x" in
 *  duration "1x"`). Returns milliseconds. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let s = text;
  let sign = 1;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(\.(\d*))?/.exec(s)!;
    const pre = num[1]!;
    const post = num[3] ?? '';
    if (pre === '' && post === '') throw new Error(`time: invalid duration ${quoted}`);
    s = s.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = GO_UNITS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    total += Number(`${pre || '0'}.${post || '0'}`) * scale;
    s = s.slice(unit.length);
  }
  return sign * total;
}
