// A per-Service upstream client certificate, beyond Contour (its issue
// 5127): the annotation names a kubernetes.io/tls Secret in the Service's
// own namespace that the proxy presents to that Service's TLS endpoints in
// place of the config file's tls.envoy-client-certificate, or "none" to
// present no certificate to it. An unmodified Contour ignores annotations
// it does not know, so the same manifests work there.
import type { Service } from '../objects/index.ts';
import type { TlsSecret } from './proxy-config.ts';
import { rec, strMap } from './safe.ts';

export const UPSTREAM_CLIENT_CERT_ANNOTATION = 'isobar.dev/upstream-client-certificate';

export type ServiceClientCert =
  | { kind: 'global' }
  | { kind: 'none' }
  | { kind: 'secret'; name: string }
  | { kind: 'invalid'; error: string };

const GLOBAL: ServiceClientCert = { kind: 'global' };
const NONE: ServiceClientCert = { kind: 'none' };
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function serviceClientCertificate(svc: Service): ServiceClientCert {
  const v = strMap(rec(svc.metadata)?.annotations)[UPSTREAM_CLIENT_CERT_ANNOTATION];
  if (v === undefined || v.trim() === '') return GLOBAL;
  const name = v.trim();
  if (name === 'none') return NONE;
  if (name.includes('/')) return { kind: 'invalid', error: `"${name}" must name a Secret in the Service's own namespace (no "namespace/" prefix)` };
  if (name.length > 253 || !SUBDOMAIN.test(name)) return { kind: 'invalid', error: `"${name.slice(0, 80)}" is not a Secret name` };
  return { kind: 'secret', name };
}

/** What the cache offers for a Secret of type kubernetes.io/tls. */
interface TlsSecrets {
  tlsSecret(ns: string, name: string): { ok: true; value: { certPem: string; keyPem: string } } | { ok: false; error: string };
}

/** The certificate a Service's annotation chooses: "global" (the config
 *  file's, if any), "none", or its own Secret (or the error to report). */
export function resolveServiceClientCert(
  view: TlsSecrets,
  svc: { namespace: string; name: string; clientCertificate: ServiceClientCert },
): 'global' | 'none' | { ok: true; secret: TlsSecret } | { ok: false; error: string } {
  const c = svc.clientCertificate;
  if (c.kind === 'global' || c.kind === 'none') return c.kind;
  const where = `Service "${svc.namespace}/${svc.name}" annotation ${UPSTREAM_CLIENT_CERT_ANNOTATION}`;
  if (c.kind === 'invalid') return { ok: false, error: `${where}: ${c.error}` };
  const r = view.tlsSecret(svc.namespace, c.name);
  if (!r.ok) return { ok: false, error: `${where}: Secret "${svc.namespace}/${c.name}" is invalid: ${r.error}` };
  return { ok: true, secret: { id: `${svc.namespace}/${c.name}`, ...r.value } };
}
