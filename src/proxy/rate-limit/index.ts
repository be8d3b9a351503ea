// Global rate limiting (Envoy's ratelimit filter over the
// envoy.service.ratelimit.v3.RateLimitService gRPC API): what the request
// path and the tests use.
export { GlobalRateLimitFeature } from './feature.ts';
export { compileDescriptors, type DescriptorRequest } from './descriptors.ts';
export { xRateLimitHeaders } from './x-ratelimit-headers.ts';
export { rateLimitServiceDefinition, SHOULD_RATE_LIMIT_METHOD, CODE, type RateLimitRequestMsg, type RateLimitResponseMsg } from './proto.ts';
