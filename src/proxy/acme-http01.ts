// HTTP-01 (RFC 8555 section 8.3) on the proxy's plain listeners, for when
// the proxy itself serves port 80 (no isobar load balancer in front):
// answered before the virtual host and route are looked up, so an HTTPS
// redirect or a catch-all route never breaks validation. Only a GET for a
// token being validated is answered; everything else routes as always.

export const HTTP01_PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** The key authorization to answer with, or undefined to route the request. */
export function http01Answer(tokens: ReadonlyMap<string, string>, method: string | undefined, path: string, tls: boolean): string | undefined {
  if (tokens.size === 0 || tls || method !== 'GET' || !path.startsWith(HTTP01_PREFIX)) return undefined;
  const token = path.slice(HTTP01_PREFIX.length);
  return TOKEN.test(token) ? tokens.get(token) : undefined;
}
