// Re-encryption to the targets: backend-protocol ssl makes a TLS listener's
// target group TLS, verified against a CA from a Secret (isobar extension).

import type { Secret } from '../objects/index.ts';
import type { BalancerListener, Target } from './balancer-config.ts';
import { A, annotation, type Annotations } from './annotations.ts';
import type { Problems } from './model-problems.ts';

export interface TargetTls {
  /** backend-protocol ssl: TLS listeners re-encrypt to their targets. */
  ssl: boolean;
  caPem?: string;
}

export function buildTargetTls(ann: Annotations, secrets: Secret[], namespace: string, anyTls: boolean, p: Problems): TargetTls {
  const ssl = buildBackendProtocol(ann, anyTls, p);
  const caPem = buildBackendCa(ann, secrets, namespace, ssl, p);
  return caPem === undefined ? { ssl } : { ssl, caPem };
}

export function buildBackendProtocol(ann: Annotations, anyTls: boolean, p: Problems): boolean {
  const v = annotation(ann, A.backendProtocol);
  if (v === undefined) return false;
  const ssl = v === 'ssl';
  if (!ssl && v !== 'tcp') p.warn(A.backendProtocol, `"${v}" is ignored (only "ssl" changes anything: it re-encrypts to the targets)`);
  if (ssl && !anyTls) p.warn(A.backendProtocol, `"ssl" only applies to TLS listeners and this Service has none`);
  return ssl;
}

/** The ca.crt of a Secret in the Service's namespace. */
export function buildBackendCa(ann: Annotations, secrets: Secret[], namespace: string, ssl: boolean, p: Problems): string | undefined {
  const value = annotation(ann, A.backendCaSecret);
  if (value === undefined) return undefined;
  let caPem: string | undefined;
  const secretName = value.trim();
  const secret = secrets.find((s) => s.metadata.namespace === namespace && s.metadata.name === secretName);
  if (!secret) p.error(A.backendCaSecret, `Secret ${namespace}/${secretName} does not exist`);
  else {
    const ca = secret.data?.['ca.crt'];
    if (typeof ca !== 'string' || !ca.includes('-----BEGIN CERTIFICATE-----')) {
      p.error(A.backendCaSecret, `Secret ${namespace}/${secretName} has no PEM certificate under the key ca.crt`);
    } else caPem = ca;
  }
  if (!ssl) p.warn(A.backendCaSecret, `has no effect without ${A.backendProtocol}: ssl`);
  return caPem;
}

/** One listener's target protocol; on the ingress Service, plain text from a
 *  TLS listener to the proxy's HTTPS listener is called out. */
export function buildTargetProtocol(port: number, tls: boolean, targetTls: TargetTls, ingress: boolean, targets: Target[], p: Problems): BalancerListener['targetProtocol'] {
  const targetProtocol = tls && targetTls.ssl ? 'TLS' : 'TCP';
  if (ingress && tls && targetProtocol === 'TCP' && targets.some((t) => t.kind === 'proxy-https' || (t.kind === 'proxy-port' && t.listener?.startsWith('https-')))) {
    p.warn(`spec.ports`, `port ${port} terminates TLS and sends plain text to the proxy's HTTPS listener; use targetPort "http" (8080) or ${A.backendProtocol}: ssl`);
  }
  return targetProtocol;
}

/** The targetTls part of a listener that re-encrypts. */
export function listenerTargetTls(targetTls: TargetTls, targetProtocol: BalancerListener['targetProtocol']): BalancerListener['targetTls'] {
  if (targetProtocol !== 'TLS') return undefined;
  return targetTls.caPem ? { caPem: targetTls.caPem } : {};
}
