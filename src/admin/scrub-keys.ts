// Belt and braces, as `isobar config` does: any PEM private key left
// anywhere in what the admin server sends is replaced.
export function scrubKeys<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v) ? '[redacted]' : v)),
  ) as T;
}
