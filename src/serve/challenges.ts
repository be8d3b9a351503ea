// What of the ACME challenges a proxy answers: HTTP-01 tokens (the TLS
// ones are the balancer's, which terminates TLS).

import type { AcmeChallenge } from '../balancer/index.ts';

export function http01Of(list: readonly AcmeChallenge[]): { token: string; keyAuthorization: string }[] {
  return list.flatMap((c) => (c.type === 'http-01' ? [{ token: c.token, keyAuthorization: c.keyAuthorization }] : []));
}
