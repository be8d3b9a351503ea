// The ACME challenges this edge answers itself (RFC 8555 HTTP-01, RFC 8737
// TLS-ALPN-01): the certificate manager publishes them while an order is
// being validated, and every balancer worker holds the same table (the
// primary sends it whole over IPC). An empty table costs a plain or TLS
// connection nothing: the listeners look only while something is pending.

import { createSecureContext, type SecureContext } from 'node:tls';

export type AcmeChallenge =
  | { type: 'http-01'; token: string; keyAuthorization: string }
  /** The self-signed certificate carrying the acmeIdentifier extension for `domain`. */
  | { type: 'tls-alpn-01'; domain: string; certPem: string; keyPem: string };

/** The ALPN protocol id of TLS-ALPN-01 (RFC 8737 section 6.2). */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** RFC 8555 section 8.3: base64url characters only. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export class AcmeChallengeTable {
  #http = new Map<string, string>();
  #alpn = new Map<string, SecureContext>();

  /** Replaces every challenge; a malformed entry is refused (nothing changes). */
  replace(list: readonly AcmeChallenge[]): void {
    const http = new Map<string, string>();
    const alpn = new Map<string, SecureContext>();
    for (const c of list) {
      if (c.type === 'http-01') {
        if (!TOKEN.test(c.token)) throw new Error(`HTTP-01 token ${JSON.stringify(c.token)} is not base64url`);
        http.set(c.token, c.keyAuthorization);
      } else {
        // The VA sends the name as SNI in lower case (no wildcard: TLS-ALPN-01 validates exact names).
        alpn.set(c.domain.toLowerCase(), createSecureContext({ cert: c.certPem, key: c.keyPem, minVersion: 'TLSv1.2' }));
      }
    }
    this.#http = http;
    this.#alpn = alpn;
  }

  get httpActive(): boolean {
    return this.#http.size > 0;
  }

  get alpnActive(): boolean {
    return this.#alpn.size > 0;
  }

  keyAuthorization(token: string): string | undefined {
    return this.#http.get(token);
  }

  alpnContext(serverName: string | undefined): SecureContext | undefined {
    return serverName === undefined ? undefined : this.#alpn.get(serverName.toLowerCase());
  }
}
