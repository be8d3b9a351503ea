// A real envoy.service.ratelimit.v3.RateLimitService server (grpc-js) on
// loopback for the global rate limit tests: it records every request and
// answers with what the test's handler returns; `countingLimits` is a
// handler that counts hits per descriptor as the reference service does.
import * as grpc from '@grpc/grpc-js';
import { closeGrpcServer } from './ext-authz-server.ts';
import { CODE, rateLimitServiceDefinition, type RateLimitRequestMsg, type RateLimitResponseMsg } from '../../src/proxy/rate-limit/index.ts';

export const HANG = Symbol('hang');
export type RateLimitHandler = (req: RateLimitRequestMsg) => Partial<RateLimitResponseMsg> | typeof HANG;

export interface RateLimitServer {
  port: number;
  requests: RateLimitRequestMsg[];
  handler: RateLimitHandler;
  close(): Promise<void>;
}

export async function startRateLimitServer(handler: RateLimitHandler): Promise<RateLimitServer> {
  const server = new grpc.Server();
  const hanging: grpc.sendUnaryData<RateLimitResponseMsg>[] = [];
  const state: RateLimitServer = {
    port: 0,
    requests: [],
    handler,
    close: () => closeGrpcServer(server, hanging),
  };
  server.addService(rateLimitServiceDefinition(), {
    ShouldRateLimit: (call: grpc.ServerUnaryCall<RateLimitRequestMsg, RateLimitResponseMsg>, cb: grpc.sendUnaryData<RateLimitResponseMsg>) => {
      state.requests.push(call.request);
      const res = state.handler(call.request);
      if (res === HANG) hanging.push(cb);
      else cb(null, { overall_code: CODE.OK, statuses: [], response_headers_to_add: [], request_headers_to_add: [], ...res });
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  return state;
}

/** A per-minute limit of `limit` hits for every distinct descriptor, as the
 *  reference service applies a configured limit (its statuses carry the
 *  limit, what is left and the time to the reset). */
export function countingLimits(limit: number): RateLimitHandler {
  const hits = new Map<string, number>();
  return (req) => {
    let over = false;
    const statuses = req.descriptors.map((d) => {
      const key = `${req.domain}|${JSON.stringify(d.entries)}`;
      const n = (hits.get(key) ?? 0) + Math.max(1, req.hits_addend);
      hits.set(key, n);
      const code = n > limit ? CODE.OVER_LIMIT : CODE.OK;
      if (code === CODE.OVER_LIMIT) over = true;
      return { code, current_limit: { name: '', requests_per_unit: limit, unit: 2 }, limit_remaining: Math.max(0, limit - n), duration_until_reset: { seconds: 42, nanos: 0 } };
    });
    return { overall_code: over ? CODE.OVER_LIMIT : CODE.OK, statuses };
  };
}
