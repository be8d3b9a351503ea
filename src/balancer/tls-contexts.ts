// Secure contexts for a TLS listener: one per certificate, each carrying the
// listener's negotiation policy (versions, ciphers in the policy's order,
// TLS 1.3 suites, OpenSSL security level), and no renegotiation, as the NLB
// (a client-initiated TLS 1.2 renegotiation costs the server a handshake
// each time). Built before a listener swaps to a new config, so a TLS
// listener never accepts without a certificate.

import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate, constants } from 'node:crypto';
import type { EdgeCertificate, TlsPolicy } from './balancer-config.ts';

export interface KeyProvider {
  readPrivateKey(arn: string): Promise<string>;
}

export function policyContextOptions(policy: TlsPolicy): SecureContextOptions {
  const opts: SecureContextOptions = {
    minVersion: policy.minVersion,
    maxVersion: policy.maxVersion,
    honorCipherOrder: true,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
  // Node splits one list into TLS 1.3 suites (TLS_*) and the TLS <= 1.2
  // cipher string; a TLS 1.3-only policy still needs a valid TLS <= 1.2
  // part, which its minVersion makes unreachable.
  opts.ciphers = [
    ...policy.ciphersuites,
    ...(policy.ciphers.length > 0 ? policy.ciphers : ['DEFAULT']),
    `@SECLEVEL=${policy.securityLevel}`,
  ].join(':');
  if (policy.groups && policy.groups.length > 0) opts.ecdhCurve = policy.groups.join(':');
  return opts;
}

export interface ListenerContexts {
  certificates: EdgeCertificate[];
  contexts: SecureContext[];
  /** Public key type of each certificate ("ec", "rsa", ...). */
  keyTypes: (string | undefined)[];
}

/** Reads each key once per apply and builds the contexts; rejects with a
 *  message naming the certificate (never the key) when one cannot be used. */
/** ticketKeys: the 48 bytes every balancer process shares, so a session
 *  ticket (TLS 1.2) or PSK (TLS 1.3) issued by one resumes on another. */
export async function buildListenerContexts(
  certificates: EdgeCertificate[],
  policy: TlsPolicy,
  keys: KeyProvider,
  keyCache: Map<string, Promise<string>>,
  ticketKeys?: Buffer,
): Promise<ListenerContexts> {
  if (certificates.length === 0) throw new Error('no certificate: a TLS listener needs at least one');
  const base = policyContextOptions(policy);
  const contexts: SecureContext[] = [];
  const keyTypes: (string | undefined)[] = [];
  for (const c of certificates) {
    let keyP = keyCache.get(c.arn);
    if (!keyP) {
      keyP = keys.readPrivateKey(c.arn);
      keyCache.set(c.arn, keyP);
    }
    let key: string;
    try {
      key = await keyP;
    } catch (err) {
      throw new Error(`cannot read the private key of ${c.arn}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const cert = c.chainPem ? `${c.certPem.trimEnd()}\n${c.chainPem}` : c.certPem;
      contexts.push(createSecureContext({ ...base, cert, key, ...(ticketKeys ? { ticketKeys } : {}) }));
      keyTypes.push(new X509Certificate(c.certPem).publicKey.asymmetricKeyType);
    } catch (err) {
      // OpenSSL messages name no key material.
      throw new Error(`cannot use certificate ${c.arn} with policy ${policy.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { certificates, contexts, keyTypes };
}

/** Replaces the ticket keys of contexts already serving (a rotation): new
 *  tickets use the new keys; a ticket made with the previous ones gets a
 *  full handshake (Node's contexts hold one key set). */
export function setTicketKeys(ctx: ListenerContexts, ticketKeys: Buffer): void {
  for (const c of ctx.contexts) (c.context as { setTicketKeys(keys: Buffer): void }).setTicketKeys(ticketKeys);
}
