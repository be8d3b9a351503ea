// Request mirroring (Envoy's request_mirror_policies): a share of a route's
// requests is sent again to the mirror cluster with the Host suffixed
// "-shadow", and its response is read and dropped. A mirror never affects
// the real request: it is best effort, and cut off when it falls behind.
import { PassThrough, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HashInput } from './load-balancer.ts';
import type { CompiledRoute } from './route-table.ts';
import type { ProxyStats } from './stats.ts';
import { replaceHeader } from './upstream-request.ts';

/** A mirror lagging this far behind the real request is dropped. */
const MIRROR_BUFFER_LIMIT = 1024 * 1024;

export interface MirroredRequest {
  method: string | undefined;
  /** The upstream request head, as sent to the real cluster. */
  path: string;
  headers: string[];
  /** Host or :authority as the client sent it. */
  authority: string;
  /** What the mirror cluster's load balancer picks an endpoint by. */
  pick: HashInput;
}

/** Sends the mirror's copy when this request falls in the route's share.
 *  `body`: a body read in full, or the downstream request whose body is
 *  still streaming. A streamed body is split between the two; the real
 *  request must then read it from the stream returned. */
export function sendMirror(
  mirror: NonNullable<CompiledRoute['mirrors']>[number],
  request: MirroredRequest,
  body: Buffer | Readable | undefined,
  stats: ProxyStats,
): Readable | undefined {
  const cluster = mirror.cluster;
  if (cluster === undefined || Math.random() * 100 >= mirror.percent) return undefined;
  const ep = cluster.pick(request.pick, undefined);
  if (ep === undefined) return undefined;
  stats.mirrored++;
  const headers = replaceHeader(request.headers, 'host', `${request.authority.split(':')[0]}-shadow`);
  let shadowBody: Buffer | PassThrough | null = null;
  let primary: PassThrough | undefined;
  if (Buffer.isBuffer(body)) shadowBody = body;
  else if (body !== undefined) [primary, shadowBody] = tee(body);
  try {
    ep.pool.dispatch({ path: request.path, method: request.method as Dispatcher.HttpMethod, headers, body: shadowBody }, DROP_RESPONSE);
  } catch {
    // A mirror never affects the real request.
  }
  return primary;
}

/** Splits a streamed body between the real request and its mirror. The
 *  real one sets the pace; a mirror that falls behind is cut off. */
function tee(req: Readable): [primary: PassThrough, shadow: PassThrough] {
  const primary = new PassThrough();
  const shadow = new PassThrough();
  shadow.on('error', () => {});
  req.on('data', (c: Buffer) => {
    if (!shadow.destroyed) {
      if (shadow.writableLength > MIRROR_BUFFER_LIMIT) shadow.destroy();
      else shadow.write(c);
    }
    if (!primary.write(c)) req.pause();
  });
  primary.on('drain', () => req.resume());
  req.once('end', () => {
    primary.end();
    shadow.end();
  });
  req.once('error', (err: Error) => {
    primary.destroy(err);
    shadow.destroy();
  });
  return [primary, shadow];
}

// Mirrored responses are read and dropped.
const DROP_RESPONSE: Dispatcher.DispatchHandler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};
