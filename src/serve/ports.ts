// Ports the primary checks or picks before any worker exists.

import { createServer, type AddressInfo } from 'node:net';

/** A port nothing listens on now (for the proxy's internal listeners). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Returns why the port cannot be bound, or undefined when it can. */
export function bindProblem(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(listenProblem(err)));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

/** Why a listen failed, as the rest of a sentence naming the port. */
export function listenProblem(err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE') return 'is already in use: stop what holds it or choose another port';
  if (err.code === 'EACCES') return 'needs privileges: choose a port above 1023 (for load balancer ports, use --lb-port-offset)';
  return `cannot be bound: ${err.code ?? err.message}`;
}
