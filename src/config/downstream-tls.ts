// Contour's tls.minimum-protocol-version, tls.maximum-protocol-version and
// tls.cipher-suites for the proxy's TLS listeners, with Contour's checks
// and wording (apis/projectcontour/v1alpha1 ciphersuites.go and
// contourconfig_helpers.go) and its default cipher list.

/** Contour's ValidTLSCiphers (the names Envoy's BoringSSL accepts). */
const VALID_CIPHERS: ReadonlySet<string> = new Set([
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'AES128-GCM-SHA256',
  'AES128-SHA',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'AES256-GCM-SHA384',
  'AES256-SHA',
]);

/** Contour's DefaultTLSCiphers, in its order. */
export const DEFAULT_TLS_CIPHERS: readonly string[] = [
  '[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]',
  '[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
];

/** Contour's isValidTLSCipher: a name, or an equal-preference group [a|b]. */
function validCipher(spec: string): boolean {
  if (spec.startsWith('[') && spec.endsWith(']')) return spec.replace(/^\[+|\]+$/g, '').split('|').every((c) => VALID_CIPHERS.has(c));
  return VALID_CIPHERS.has(spec);
}

/** tls.cipher-suites: a list of Contour's cipher names, deduplicated in order
 *  (Contour's SanitizedCipherSuites). */
export function parseCipherSuites(v: unknown, fail: (m: string) => void): string[] | undefined {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    fail('must be a list of cipher names');
    return undefined;
  }
  const list = (v as string[]).map((c) => c.trim());
  const invalid = list.filter((c) => !validCipher(c));
  if (invalid.length > 0) {
    // Go's %q of a []string: ["a" "b"].
    fail(`invalid TLS Protocol Parameters: invalid TLS cipher suites: invalid cipher suites [${invalid.map((c) => JSON.stringify(c)).join(' ')}]`);
    return undefined;
  }
  const out = [...new Set(list.filter((c) => c !== ''))];
  return out.length > 0 ? out : undefined;
}

/** Contour's ValidateTLSProtocolVersions for one of the two keys. */
export function parseListenerTlsVersion(v: unknown, tip: 'minimum' | 'maximum', fail: (m: string) => void): '1.2' | '1.3' | undefined {
  // Unquoted 1.2 in YAML is a number; read it as the user meant it.
  const s = typeof v === 'number' ? v.toFixed(1) : v;
  if (s === '') return undefined;
  if (s === '1.2' || s === '1.3') return s;
  fail(`invalid TLS Protocol Parameters: invalid TLS ${tip} protocol version: ${JSON.stringify(String(v))}`);
  return undefined;
}

/** OpenSSL's cipher list for Contour's names. OpenSSL has no equal-preference
 *  groups: a group's ciphers are listed in its order. */
export function opensslCipherList(ciphers: readonly string[]): string {
  return ciphers.flatMap((c) => (c.startsWith('[') ? c.slice(1, -1).split('|') : [c])).join(':');
}
