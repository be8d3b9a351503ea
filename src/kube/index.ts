// Everything that talks to the Kubernetes API server: the source (informers
// feeding the object cache), its client, the status writer and the Lease
// election that picks the one replica that writes.
export { KubeSource } from './kube-source.ts';
export type { KubeSourceOptions, KubeProblem } from './kube-source.ts';
export { ApiClient, ApiError } from './api-client.ts';
export { loadKubeConfig, KubeConfigError } from './kubeconfig.ts';
export { RateLimiter } from './rate-limiter.ts';
export { Backoff } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export { HTTPPROXIES, SERVICES, objectPath, collectionPath } from './resources.ts';
export { LeaderElector } from './leader.ts';
export type { LeaderElectorOptions } from './leader.ts';
export { StatusWriter } from './status-writer.ts';
export type { StatusWriterOptions, StatusWriterStats, StatusUpdateEvent } from './status-writer.ts';
export { KubeStatusSink } from './status-sink.ts';
export type { KubeStatusSinkOptions } from './status-sink.ts';
