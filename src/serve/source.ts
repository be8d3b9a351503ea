// What the primary needs of an object source (manifest folder or the
// Kubernetes API): start it, stop it, know when its first full view is in
// the cache, and hear about problems.

import type { EventEmitter } from 'node:events';

export interface Source extends EventEmitter {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True once the source has put a complete first view into the cache. */
  ready(): boolean;
}
