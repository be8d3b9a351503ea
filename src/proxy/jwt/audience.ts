// Envoy's audience check (jwt_verify CheckAudience): with no configured
// audiences any token passes; otherwise one of the token's `aud` values must
// equal a configured one, both compared without an http:// or https://
// prefix and without one trailing slash.

function sanitize(aud: string): string {
  let s = aud;
  if (s.startsWith('http://')) s = s.slice(7);
  else if (s.startsWith('https://')) s = s.slice(8);
  if (aud.endsWith('/')) s = s.slice(0, -1);
  return s;
}

export class AudienceCheck {
  readonly #allowed: Set<string>;
  constructor(configured: string[]) {
    this.#allowed = new Set(configured.map(sanitize));
  }
  allows(tokenAudiences: string[]): boolean {
    if (this.#allowed.size === 0) return true;
    return tokenAudiences.some((a) => this.#allowed.has(sanitize(a)));
  }
}
