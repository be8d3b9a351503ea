// Envoy's rate limit service gRPC API (envoy.service.ratelimit.v3), loaded
// from the .proto files beside this one, with the message shapes
// proto-loader produces for them (field names as in the .proto, enums as
// numbers, 64-bit numbers as numbers).
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import { loadProtoPackage } from '../ext-authz/index.ts';

export const SHOULD_RATE_LIMIT_METHOD = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

export interface RateLimitRequestMsg {
  domain: string;
  descriptors: { entries: { key: string; value: string }[] }[];
  hits_addend: number;
}

/** RateLimitResponse.Code */
export const CODE = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 } as const;

/** RateLimitResponse.RateLimit.Unit -> seconds of its window. */
export const UNIT_SECONDS: Readonly<Record<number, number>> = { 1: 1, 2: 60, 3: 3600, 4: 86_400, 7: 604_800, 5: 2_592_000, 6: 31_536_000 };

export interface DescriptorStatusMsg {
  code: number;
  current_limit: { name: string; requests_per_unit: number; unit: number } | null;
  limit_remaining: number;
  duration_until_reset: { seconds: number; nanos: number } | null;
}

export interface RateLimitResponseMsg {
  overall_code: number;
  statuses: DescriptorStatusMsg[];
  response_headers_to_add: { key: string; value: string }[];
  request_headers_to_add: { key: string; value: string }[];
}

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
// envoy/config/core/v3/base.proto (HeaderValue) is the authorization API's.
const CORE_PROTO_DIR = fileURLToPath(new URL('../ext-authz/proto/', import.meta.url));

let service: grpc.ServiceDefinition | undefined;

/** The RateLimitService definition; loaded once, on first use. */
export function rateLimitServiceDefinition(): grpc.ServiceDefinition {
  if (service) return service;
  const pkg = loadProtoPackage('envoy/service/ratelimit/v3/rls.proto', [PROTO_DIR, CORE_PROTO_DIR]) as unknown as {
    envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } };
  };
  service = pkg.envoy.service.ratelimit.v3.RateLimitService.service;
  return service;
}

export function shouldRateLimitMethod(): grpc.MethodDefinition<RateLimitRequestMsg, RateLimitResponseMsg> {
  return rateLimitServiceDefinition().ShouldRateLimit as grpc.MethodDefinition<RateLimitRequestMsg, RateLimitResponseMsg>;
}
