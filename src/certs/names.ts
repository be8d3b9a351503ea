// Domain names a local-CA certificate may carry: DNS host names, with an
// optional leading "*." wildcard label (as ACM accepts them).

import { isIP } from 'node:net';
import { CertsError } from './errors.ts';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function normalizeDomain(name: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  const fail = (why: string): never => {
    throw new CertsError('BAD_INPUT', `domain ${JSON.stringify(name)} ${why}`);
  };
  if (n === '') fail('is empty');
  if (isIP(n)) fail('is an IP address; certificates from the certificate manager name DNS hosts only');
  if (n.length > 253) fail('is longer than 253 characters');
  const labels = n.split('.');
  labels.forEach((l, i) => {
    if (l === '*') {
      if (i !== 0) fail('has "*" outside the leftmost label');
      if (labels.length < 2) fail('is a bare wildcard; write *.example.com');
      return;
    }
    if (l.includes('*')) fail('has a partial wildcard; only a whole leftmost "*" label is allowed (*.example.com)');
    if (!LABEL.test(l)) fail(`has an invalid label ${JSON.stringify(l)} (letters, digits and inner dashes, 1-63 characters)`);
  });
  return n;
}

/** Normalises and de-duplicates, keeping the first occurrence's position. */
export function normalizeDomains(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const v = normalizeDomain(n);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}
