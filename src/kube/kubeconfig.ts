// Which API server to talk to and with what credentials: an explicit
// kubeconfig file, else the in-cluster ServiceAccount, else KUBECONFIG or
// ~/.kube/config (client-node's own resolution).

import { KubeConfig } from '@kubernetes/client-node';

export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    const where = file ? `kubeconfig ${file}` : 'the default kubeconfig (KUBECONFIG or ~/.kube/config)';
    throw new KubeConfigError(`cannot read ${where}: ${(err as Error).message}; pass --kubeconfig FILE pointing at a valid kubeconfig`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster || !cluster.server) {
    const where = file ? `kubeconfig ${file}` : 'the default kubeconfig';
    throw new KubeConfigError(
      `${where} names no API server (no current context or cluster.server): pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod`,
    );
  }
  return kc;
}
