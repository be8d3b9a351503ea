// The ExtensionService clients of the applied config, by cluster name. A
// config swap keeps the client (and its connections) of a target that did
// not change and closes the others once their calls in flight are done.
import type { ProxyConfig } from '../../dag/index.ts';
import { AuthzClient } from './authz-client.ts';
import { resolveTarget } from './resolve-target.ts';
import type { AuthzTarget } from './types.ts';

export class AuthzClientRegistry {
  #clients = new Map<string, { key: string; client: AuthzClient }>();
  /** Extension clusters of the applied config that cannot be dialled (a
   *  certificate missing from the config): every call to them fails. */
  #unusable = new Set<string>();

  /** Makes the registry hold the config's extension clusters. */
  applyConfig(config: ProxyConfig): void {
    const caBundles = new Map(config.caBundles.map((b) => [b.id, b.caPem]));
    const secrets = new Map(config.secrets.map((s) => [s.id, { certPem: s.certPem, keyPem: s.keyPem }]));
    const targets: AuthzTarget[] = [];
    const unusable = new Set<string>();
    for (const c of config.extensionClusters ?? []) {
      const t = resolveTarget(c, caBundles, secrets);
      if (t) targets.push(t);
      else unusable.add(c.name);
    }
    this.apply(targets);
    this.#unusable = unusable;
  }

  /** The client of a cluster that can be dialled; undefined otherwise. */
  usable(name: string): AuthzClient | undefined {
    return this.#unusable.has(name) ? undefined : this.get(name);
  }

  /** Makes the registry hold exactly `targets`. */
  apply(targets: AuthzTarget[]): void {
    const next = new Map<string, { key: string; client: AuthzClient }>();
    for (const t of targets) {
      const key = JSON.stringify(t);
      const prior = this.#clients.get(t.name);
      if (prior && prior.key === key) next.set(t.name, prior);
      else next.set(t.name, { key, client: new AuthzClient(t) });
    }
    for (const [name, c] of this.#clients) if (next.get(name) !== c) c.client.close();
    this.#clients = next;
  }

  get(name: string): AuthzClient | undefined {
    return this.#clients.get(name)?.client;
  }

  close(): void {
    for (const c of this.#clients.values()) c.client.close();
    this.#clients.clear();
  }
}
