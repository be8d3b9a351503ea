// Envoy's request_timeout on HTTP/2 streams (timeouts.request-timeout;
// node:http's requestTimeout covers HTTP/1): the whole request must arrive
// in time. The timer starts with the stream and stops once the request has
// ended or the response has started; when it fires first, the exchange
// answers 408.
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/** The stream's END_STREAM has arrived (read or not yet). */
function received(req: Http2ServerRequest): boolean {
  const stream = req.stream as Http2ServerRequest['stream'] & { _readableState?: { ended?: boolean } };
  return stream.endAfterHeaders || stream.readableEnded || stream._readableState?.ended === true || stream.destroyed;
}

/** Calls `onTimeout` after `ms` unless the request has been received whole
 *  or the response has started by then. */
export function armHttp2RequestTimeout(req: Http2ServerRequest, res: Http2ServerResponse, ms: number, onTimeout: () => void): void {
  if (received(req)) return;
  const timer = setTimeout(() => {
    if (!received(req) && !res.headersSent) onTimeout();
  }, ms);
  const clear = (): void => clearTimeout(timer);
  req.once('end', clear);
  res.once('close', clear);
}
