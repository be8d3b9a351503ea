// An extension cluster of the config -> the target the client dials: the
// CA bundle and client certificate ids replaced by their PEMs. A cluster
// whose validation CA is missing from the config yields no target (every
// Check then fails closed), never one that skips validation.
import type { ExtensionCluster } from '../../dag/index.ts';
import type { AuthzTarget } from './types.ts';

/** The config's extension cluster, as the DAG writes it. */
export type ExtensionClusterConfig = Pick<ExtensionCluster, 'name' | 'protocol' | 'services' | 'tls' | 'loadBalancer'>;

export function resolveTarget(
  c: ExtensionClusterConfig,
  caBundles: ReadonlyMap<string, string>,
  secrets: ReadonlyMap<string, { certPem: string; keyPem: string }>,
): AuthzTarget | null {
  const target: AuthzTarget = {
    name: c.name,
    protocol: c.protocol,
    services: c.services.map((s) => ({ weight: s.weight, endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port })) })),
    loadBalancer: c.loadBalancer,
  };
  if (c.protocol === 'h2') {
    const t = c.tls ?? { minVersion: '1.2', maxVersion: '1.3' };
    const tls: NonNullable<AuthzTarget['tls']> = { minVersion: t.minVersion, maxVersion: t.maxVersion };
    if (t.sni) tls.sni = t.sni;
    if (t.validation) {
      const caPem = caBundles.get(t.validation.caBundleId);
      if (caPem === undefined) return null;
      tls.validation = { caPem, subjectNames: [...t.validation.subjectNames] };
    }
    if (t.clientCertificateId !== undefined) {
      const s = secrets.get(t.clientCertificateId);
      if (!s) return null;
      tls.clientCertPem = s.certPem;
      tls.clientKeyPem = s.keyPem;
    }
    target.tls = tls;
  }
  return target;
}
