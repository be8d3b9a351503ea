// TLS 1.3 suites, in order, of isobar's default load balancer policy
// (ELBSecurityPolicy-TLS13-1-2-2021-06). The peers' client-facing listeners
// use the same list with server preference, so every system encrypts with
// the same cipher (the report prints what each one negotiated).
export const EDGE_TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
