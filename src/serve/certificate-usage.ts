// Which listeners use which certificate, recorded in the state dir so
// `isobar certs list` can say so (and refuse to delete one in use).

import type pino from 'pino';
import type { CertificateStore } from '../certs/index.ts';
import type { BalancerConfig } from '../edge/index.ts';

/** Records the usage when it changed; returns what is now recorded (its
 *  JSON), or `previous` when writing failed (it is tried again next time). */
export async function recordUsage(store: CertificateStore, config: BalancerConfig, previous: string, logger: pino.Logger): Promise<string> {
  const usage: Record<string, string[]> = {};
  for (const lb of config.loadBalancers) {
    for (const l of lb.listeners) {
      for (const c of l.tls?.certificates ?? []) (usage[c.arn] ??= []).push(l.id);
    }
  }
  const serialized = JSON.stringify(usage);
  if (serialized === previous) return previous;
  try {
    await store.recordUsage(usage);
    return serialized;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not record certificate usage in the state dir');
    return previous;
  }
}
