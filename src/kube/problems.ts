// Turns API failures into one clear sentence: what failed, why, what to do.

import { ApiError } from './api-client.ts';
import type { ResourceType } from './resources.ts';
import { resourceName } from './resources.ts';

export function describeFailure(err: unknown, server: string, r: ResourceType, namespace: string | undefined, retryMs: number): string {
  const what = `${resourceName(r)}${namespace ? ` in namespace ${namespace}` : ''}`;
  const retry = `retrying in ${(retryMs / 1000).toFixed(1)}s; the last good configuration keeps serving`;
  if (err instanceof ApiError) {
    switch (err.statusCode) {
      case 0:
        return `${err.message} while watching ${what}; check that the server is up and reachable from here; ${retry}`;
      case 401:
        return `the Kubernetes API server at ${server} rejected isobar's credentials (401 Unauthorized) while watching ${what}: the token or client certificate is expired or invalid; renew the kubeconfig credentials (in a pod: the ServiceAccount token); ${retry}`;
      case 403:
        return `RBAC forbids isobar to list/watch ${what} (403 Forbidden): grant get, list and watch on ${resourceName(r)} to isobar's ServiceAccount (see deploy/rbac.yaml); ${retry}`;
      case 404:
        return `the API server does not serve ${resourceName(r)} (404 Not Found)${r.group === 'projectcontour.io' ? ': install the CRDs with kubectl apply -f deploy/crds.yaml' : ''}; ${retry}`;
      default:
        return `watching ${what} failed: ${err.message}; ${retry}`;
    }
  }
  const msg = err instanceof Error ? err.message : String(err);
  return `watching ${what} failed: ${msg}; ${retry}`;
}
