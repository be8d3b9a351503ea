// Contour config keys isobar accepts without using them: a Contour config
// file still loads, and the warning says what isobar does instead.

/** Keys of Contour's config file (pkg/config/parameters.go) that isobar
 *  accepts and does not use, each with what isobar does instead. A key
 *  whose value is a mapping covers everything under it. */
export const CONTOUR_IGNORED: ReadonlyMap<string, string> = new Map([
  ['debug', ''],
  ['kubeconfig', 'use --kubeconfig'],
  ['incluster', 'in a pod isobar uses the in-cluster config by itself'],
  ['kubernetesClientQPS', ''],
  ['kubernetesClientBurst', ''],
  ['disableAllowChunkedLength', 'a request with both Content-Length and Transfer-Encoding is refused with 400'],
  ['serverHeaderTransformation', ''],
  ['default-http-versions', ''],
  ['server', ''],
  ['server.xds-server-type', 'there is no xDS server: the control plane configures its own proxy workers'],
  ['leaderelection', 'Kubernetes mode elects its leader with a Lease of its own'],
  ['network.admin-port', 'use serve --admin-port'],
  ['network.strip-trailing-host-dot', ''],
  ['listener.socket-options', ''],
  ['listener.max-requests-per-io-cycle', ''],
  ['listener.max-connections-to-accept-per-socket-event', ''],
  ['tracing', ''],
  ['metrics', 'serve --admin-port serves /metrics'],
  ['health', 'serve --admin-port serves /healthz and /readyz'],
  ['omEnforcedHealthListener', 'serve --admin-port serves /healthz and /readyz'],
  ['featureFlags', ''],
  ['runtime-settings', 'there is no Envoy runtime'],
  ['tls.ecdh-curves', "Node's default curves"],
  ['tls.fingerprint', 'no JA3/JA4 fingerprints are computed'],
  ['cluster.upstream-tls.cipher-suites', "Node's default ciphers"],
  ['cluster.upstream-tls.ecdh-curves', "Node's default curves"],
  ['policy.applyToIngress', ''],
]);

export function ignoredWarning(key: string): string {
  const instead = CONTOUR_IGNORED.get(key);
  return `${key}: a Contour setting isobar does not use; ignored${instead ? ` (${instead})` : ''}`;
}
