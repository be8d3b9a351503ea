// SNI certificate choice as the NLB makes it: an exact name first, then a
// one-label wildcard; no SNI or no match -> the default (first) certificate.

import type { EdgeCertificate } from './balancer-config.ts';

export function domainMatches(domain: string, servername: string): boolean {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const s = servername.toLowerCase().replace(/\.$/, '');
  if (d === s) return true;
  if (!d.startsWith('*.')) return false;
  const suffix = d.slice(1); // ".example.com"
  if (!s.endsWith(suffix)) return false;
  const label = s.slice(0, s.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

/** Index of the certificate to present; 0 (the default) when none matches. */
export function chooseCertificate(certs: readonly EdgeCertificate[], servername: string | undefined | null): number {
  if (!servername) return 0;
  const exact = certs.findIndex((c) => c.domains.some((d) => !d.startsWith('*.') && domainMatches(d, servername)));
  if (exact >= 0) return exact;
  const wild = certs.findIndex((c) => c.domains.some((d) => d.startsWith('*.') && domainMatches(d, servername)));
  return wild >= 0 ? wild : 0;
}
