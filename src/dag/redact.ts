// A copy of a ProxyConfig safe to print: private keys replaced, and the
// symmetric (HMAC) keys of local JWKS too.
import type { JwtConfig, ProxyConfig } from './proxy-config.ts';

export function redactProxyConfig(c: ProxyConfig): ProxyConfig {
  return {
    ...c,
    httpVirtualHosts: c.httpVirtualHosts.map(redactJwt),
    httpsVirtualHosts: c.httpsVirtualHosts.map(redactJwt),
    secrets: c.secrets.map((s) => ({ ...s, keyPem: '[redacted]' })),
  };
}

function redactJwt<V extends { jwt?: JwtConfig }>(v: V): V {
  if (!v.jwt?.providers.some((p) => p.jwks.kind === 'local')) return v;
  const providers = v.jwt.providers.map((p) => (p.jwks.kind === 'local' ? { ...p, jwks: { kind: 'local' as const, json: redactOctKeys(p.jwks.json) } } : p));
  return { ...v, jwt: { providers } };
}

function redactOctKeys(json: string): string {
  try {
    const doc = JSON.parse(json) as { keys?: { kty?: unknown; k?: unknown }[] };
    if (!Array.isArray(doc.keys)) return json;
    return JSON.stringify({ ...doc, keys: doc.keys.map((k) => (k && k.kty === 'oct' ? { ...k, k: '[redacted]' } : k)) });
  } catch {
    return '[redacted]';
  }
}
