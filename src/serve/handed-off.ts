// A worker's side of listener.connection-balancer: exact. The primary
// accepts the proxy's connections and hands each to the worker with the
// fewest open (exact-balancer.ts); this takes one: says 'adopted' before
// anything reads it (the primary then closes its copy of the socket, and
// re-sends it elsewhere if this process dies first), serves it on the
// named listener (PROXY header, TLS inspection and all, as if accepted
// here), and reports each close as it happens, so the primary's counts stay
// those of the worker (and a scrape never sees a close the primary has not
// been told of).

import type { Socket } from 'node:net';
import type { ProxyRuntime } from '../proxy/index.ts';
import type { HandOff } from './messages.ts';
import { send } from './worker-process.ts';

/** `handle`: the socket the message carried. */
export function takeHandOff(runtime: ProxyRuntime | undefined, msg: HandOff, handle: unknown): void {
  send({ type: 'adopted', id: msg.id });
  const closed = (): void => send({ type: 'closed', listener: msg.listener });
  const socket = handle as Socket | undefined;
  if (socket === undefined) {
    // Nothing arrived to count: the primary's count goes back at once.
    closed();
    return;
  }
  socket.once('close', closed);
  // As the proxy's own servers accept: a client's FIN leaves the
  // response to finish (node:http decides when to close).
  socket.allowHalfOpen = true;
  if (runtime) runtime.adopt(msg.listener, socket, msg.unix);
  else socket.destroy();
}
