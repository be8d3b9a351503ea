// A copy of a ProxyConfig safe to print: private keys replaced.
import type { ProxyConfig } from './proxy-config.ts';

export function redactProxyConfig(c: ProxyConfig): ProxyConfig {
  return { ...c, secrets: c.secrets.map((s) => ({ ...s, keyPem: '[redacted]' })) };
}
