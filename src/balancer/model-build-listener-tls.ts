// A listener's TLS side: which ports terminate TLS (ssl-cert, ssl-ports),
// with which certificates, negotiation policy and ALPN policy (the TLS part
// of the AWS controller's model_build_listener.go).

import type { ServicePort } from '../objects/index.ts';
import type { BalancerListener, EdgeCertificate, TlsPolicy } from './balancer-config.ts';
import { A, annotation, isCertificateArn, splitList, type Annotations } from './annotations.ts';
import { ALPN_POLICIES, DEFAULT_POLICY, POLICY_NAMES, lookupPolicy } from './policies.ts';
import type { Problems } from './model-problems.ts';
import type { CertificateStoreProblem } from './model-options.ts';

const EXPIRY_WARNING_MS = 30 * 86_400_000;
const DAY_MS = 86_400_000;

export interface ListenerTls {
  certificates: EdgeCertificate[];
  /** ARNs named whose certificate is still being issued. */
  pending: string[];
  /** ssl-cert names at least one ARN (valid or not): the Service asks for TLS. */
  certNamed: boolean;
  /** The ssl-ports items (numbers or names); null: every TCP port. */
  sslPorts: Set<string> | null;
  /** Some TCP port of the Service terminates TLS. */
  anyTls: boolean;
  policy: TlsPolicy | undefined;
  /** null: do not negotiate (ALPN policy "None", the default). */
  alpn: string[] | null;
}

export function buildListenerTls(
  ann: Annotations,
  tcpPorts: ServicePort[],
  store: EdgeCertificate[],
  now: string | number | undefined,
  p: Problems,
  storeProblems: readonly CertificateStoreProblem[] = [],
): ListenerTls {
  const pending: string[] = [];
  const certificates = buildCertificates(ann, store, p, storeProblems, pending);
  const certNamed = splitList(annotation(ann, A.sslCert) ?? '').length > 0;
  warnExpiringCertificates(certificates, now, p);
  const sslPorts = buildSslPorts(ann, tcpPorts, certNamed, p);
  const anyTls = tcpPorts.some((sp) => isTlsPort({ certNamed, sslPorts }, sp));
  const policy = buildSslPolicy(ann, anyTls, p);
  const alpn = buildAlpnPolicy(ann, p);
  return { certificates, pending, certNamed, sslPorts, anyTls, policy, alpn };
}

export function isTlsPort(tls: Pick<ListenerTls, 'certNamed' | 'sslPorts'>, sp: ServicePort): boolean {
  if (!tls.certNamed) return false;
  if (tls.sslPorts === null) return true;
  return tls.sslPorts.has(String(sp.port)) || (sp.name !== undefined && tls.sslPorts.has(sp.name));
}

/** The tls part of a listener whose port terminates TLS. */
export function listenerTlsConfig(tls: ListenerTls, tlsPort: boolean): BalancerListener['tls'] {
  if (!tlsPort || !tls.policy) return undefined;
  const config: NonNullable<BalancerListener['tls']> = { certificates: [...tls.certificates], policy: tls.policy, alpn: tls.alpn ? [...tls.alpn] : null };
  if (tls.pending.length > 0) config.pending = [...tls.pending];
  return config;
}

/** ssl-cert: ARNs of certificates in the store, first is the default,
 *  duplicates once. A certificate the store cannot read is said to be
 *  damaged (with the store's own words, naming the file), not missing:
 *  adding it again would not help. */
export function buildCertificates(
  ann: Annotations,
  store: EdgeCertificate[],
  p: Problems,
  storeProblems: readonly CertificateStoreProblem[] = [],
  pending: string[] = [],
): EdgeCertificate[] {
  const certificates: EdgeCertificate[] = [];
  for (const arn of splitList(annotation(ann, A.sslCert) ?? '')) {
    if (!isCertificateArn(arn)) {
      p.error(A.sslCert, `"${arn}" is not a certificate ARN (expected arn:aws:acm:<region>:<account>:certificate/<id>)`);
      continue;
    }
    const cert = store.find((c) => c.arn === arn);
    const unreadable = cert ? undefined : storeProblems.find((x) => x.wholeStore) ?? storeProblems.find((x) => x.certificateId !== undefined && arn.endsWith(`certificate/${x.certificateId}`));
    if (unreadable) {
      p.error(A.sslCert, `certificate ${arn} cannot be read from the certificate store: ${unreadable.message}`);
      continue;
    }
    if (!cert) {
      p.error(A.sslCert, `certificate ${arn} is not in the certificate store (add it with \`isobar certs import --arn ${arn} ...\` or \`isobar certs request --arn ${arn} ...\`)`);
      continue;
    }
    if (cert.unissued?.status === 'FAILED') {
      p.error(A.sslCert, `certificate ${arn} could not be issued: ${cert.unissued.reason ?? 'the request failed'}; request it again (\`isobar certs request --acme --arn ${arn} ...\`)`);
      continue;
    }
    if (cert.unissued) {
      // Served without it meanwhile (port 80 and TLS-ALPN-01 must answer
      // for it to be issued at all); it is added the moment it arrives.
      p.warn(A.sslCert, `certificate ${arn} not yet issued (PENDING_VALIDATION): the listener closes TLS handshakes until the certificate manager has it`);
      if (!pending.includes(arn)) pending.push(arn);
      continue;
    }
    if (!certificates.some((c) => c.arn === arn)) certificates.push(cert);
  }
  return certificates;
}

/** Certificates in use that expired or expire within 30 days of `now`
 *  (passed in: the model reads no clock). */
export function warnExpiringCertificates(certificates: EdgeCertificate[], now: string | number | undefined, p: Problems): void {
  if (now === undefined) return;
  const nowMs = new Date(now).getTime();
  for (const c of certificates) {
    const end = Date.parse(c.notAfter);
    if (!Number.isFinite(nowMs) || !Number.isFinite(end)) continue;
    if (end <= nowMs) p.warn(A.sslCert, `certificate ${c.arn} expired on ${c.notAfter}; renew it (\`isobar certs renew ${c.arn}\`) or import a new one`);
    else if (end - nowMs <= EXPIRY_WARNING_MS) p.warn(A.sslCert, `certificate ${c.arn} expires on ${c.notAfter}, in ${Math.ceil((end - nowMs) / DAY_MS)} days`);
  }
}

/** ssl-ports: port numbers or names; absent, empty or "*" means all. */
export function buildSslPorts(ann: Annotations, tcpPorts: ServicePort[], certNamed: boolean, p: Problems): Set<string> | null {
  const value = annotation(ann, A.sslPorts);
  if (value === undefined) return null;
  let sslPorts: Set<string> | null = null;
  const items = splitList(value);
  if (items.length > 0 && !items.includes('*')) {
    sslPorts = new Set(items);
    const unknown = items.filter((it) => !tcpPorts.some((sp) => sp.name === it || String(sp.port) === it));
    if (unknown.length > 0) {
      const have = tcpPorts.map((sp) => (sp.name ? `${sp.port} (${sp.name})` : String(sp.port))).join(', ') || 'none';
      // A typo must not silently turn a serving TLS port into TCP.
      p.warnHoldingEdits(A.sslPorts, `names ${unknown.map((u) => `"${u}"`).join(', ')}, which the Service does not have (its TCP ports: ${have}); those items are ignored`);
    }
  }
  if (!certNamed) p.warn(A.sslPorts, `has no effect without ${A.sslCert}`);
  return sslPorts;
}

/** ssl-negotiation-policy; an unknown name is an error only when some port
 *  terminates TLS. */
export function buildSslPolicy(ann: Annotations, anyTls: boolean, p: Problems): TlsPolicy | undefined {
  const value = annotation(ann, A.sslPolicy);
  if (value === undefined || value.trim() === '') return lookupPolicy(DEFAULT_POLICY);
  const v = value.trim();
  const policy = lookupPolicy(v);
  if (!policy && anyTls) {
    const near = POLICY_NAMES.find((n) => n.toLowerCase() === v.toLowerCase());
    p.error(A.sslPolicy, `unknown negotiation policy "${v}"${near ? ` (names are case-sensitive: did you mean ${near}?)` : ''}; known policies: ${POLICY_NAMES.join(', ')}`);
  }
  return policy;
}

export function buildAlpnPolicy(ann: Annotations, p: Problems): string[] | null {
  const value = annotation(ann, A.alpnPolicy);
  if (value === undefined) return null;
  const v = value.trim();
  if (!Object.hasOwn(ALPN_POLICIES, v)) {
    p.error(A.alpnPolicy, `invalid ALPN policy "${value}" (use ${Object.keys(ALPN_POLICIES).join(', ')})`);
    return null;
  }
  const list = ALPN_POLICIES[v];
  return list ? [...list] : null;
}

/** Said once the listeners are built, after the other problems. */
export function warnUnusedAlpn(tls: ListenerTls, p: Problems): void {
  if (tls.alpn && !tls.anyTls) p.warn(A.alpnPolicy, `ignored: the Service has no TLS listener`);
}
