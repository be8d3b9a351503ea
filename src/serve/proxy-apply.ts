// How a worker that runs the proxy takes a proxy config update in: into its
// replica of the config first (a delta on a version it does not hold is
// refused there, untouched), then into the runtime. Shared by proxy workers
// and co-located balancer workers.

import type pino from 'pino';
import type { ProxyRuntime } from '../proxy/index.ts';
import type { ProxyConfigReplica } from './config-delta.ts';

export interface ProxyUpdateText {
  version: number;
  base?: number;
  text: string;
}

/** Opens and closes the port listeners the config applied names (Gateway
 *  listener ports beyond the first HTTP and HTTPS one); the ones that could
 *  not be bound, by name with why, are logged and returned for the status. */
export async function syncPortListeners(runtime: ProxyRuntime, logger: pino.Logger | undefined): Promise<Record<string, string>> {
  const problems = await runtime.syncListeners();
  for (const [listener, message] of Object.entries(problems)) logger?.error({ listener }, `port listener not opened: ${message}`);
  return problems;
}

/** Applies `update`; false when it was refused (the worker then asks the
 *  primary for the whole config). Throws when it cannot be applied, and
 *  the replica then holds nothing, so the next delta is refused too. */
export function applyProxyUpdate(runtime: ProxyRuntime, replica: ProxyConfigReplica, update: ProxyUpdateText, logger: pino.Logger | undefined): boolean {
  const t0 = performance.now();
  const received = replica.receive(update);
  if (!received.applied) {
    logger?.info({ version: update.version, reason: received.reason }, 'proxy configuration delta refused; asking for the whole configuration');
    return false;
  }
  const t1 = performance.now();
  try {
    runtime.apply(received.config);
  } catch (err) {
    replica.forget();
    throw err;
  }
  // Where a reload's time goes in the worker, for people tuning large installations.
  logger?.debug(
    {
      version: update.version,
      base: update.base,
      changed: received.changed,
      parseMs: Math.round(t1 - t0),
      applyMs: Math.round(performance.now() - t1),
    },
    'proxy configuration applied',
  );
  return true;
}
