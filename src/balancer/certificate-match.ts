// SNI certificate choice as the NLB makes it: an exact name first, then a
// one-label wildcard; no SNI or no match -> the default (first) certificate.
// When several certificates match equally, the first whose key type the
// client can verify (its signature_algorithms) wins.

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

// TLS SignatureScheme codes by the key type that produces them.
const SCHEMES: Record<string, number[]> = {
  ec: [0x0403, 0x0503, 0x0603, 0x0203],
  rsa: [0x0401, 0x0501, 0x0601, 0x0201, 0x0804, 0x0805, 0x0806],
  'rsa-pss': [0x0809, 0x080a, 0x080b],
  ed25519: [0x0807],
  ed448: [0x0808],
};

function clientSupports(sigalgs: readonly number[], keyType: string | undefined): boolean {
  const schemes = keyType ? SCHEMES[keyType] : undefined;
  return schemes === undefined || schemes.some((s) => sigalgs.includes(s));
}

export interface ClientCapabilities {
  /** The client's signature_algorithms; absent = no preference known. */
  sigalgs?: readonly number[];
  /** Key type of each certificate ("ec", "rsa", ...), same order. */
  keyTypes?: readonly (string | undefined)[];
}

/** Index of the certificate to present; 0 (the default) when none matches. */
export function chooseCertificate(certs: readonly EdgeCertificate[], servername: string | undefined | null, client: ClientCapabilities = {}): number {
  if (!servername) return 0;
  const matching = (wild: boolean) =>
    certs.flatMap((c, i) => (c.domains.some((d) => d.startsWith('*.') === wild && domainMatches(d, servername)) ? [i] : []));
  let found = matching(false);
  if (found.length === 0) found = matching(true);
  if (found.length === 0) return 0;
  const { sigalgs, keyTypes } = client;
  if (found.length === 1 || !sigalgs || !keyTypes) return found[0];
  return found.find((i) => clientSupports(sigalgs, keyTypes[i])) ?? found[0];
}
