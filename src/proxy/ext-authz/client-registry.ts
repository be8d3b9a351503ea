// The authorization clients of the applied config, by ExtensionService
// cluster name. A config swap keeps the client (and its connections) of a
// target that did not change and closes the others once their Checks in
// flight are done.
import { AuthzClient } from './authz-client.ts';
import type { AuthzTarget } from './types.ts';

export class AuthzClientRegistry {
  #clients = new Map<string, { key: string; client: AuthzClient }>();

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
