// Kubernetes mode: the API source, its client, and leader election. The
// status writer lives in src/status/kube-sink.ts and is re-exported here.
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
// The status side (src/status/kube-sink.ts), here too so Kubernetes mode has
// one entry point. kube-sink imports this index; nothing in it runs at load.
export { StatusWriter, KubeStatusSink } from '../../status/kube-sink.ts';
export type { StatusWriterOptions, StatusWriterStats, KubeStatusSinkOptions } from '../../status/kube-sink.ts';
