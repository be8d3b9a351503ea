// Watches the certificate store for certificates added, renewed or removed
// while serving (`isobar certs import` in another terminal), so listeners
// pick up new certificates without a restart.

import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

export function watchCertificates(stateDir: string, onChange: () => void, debounceMs = 50): () => void {
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Only the certificates folder: the primary itself writes usage records
    // elsewhere in the state dir, which must not trigger a rebuild.
    watcher = watch(join(stateDir, 'certs'), { persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // No certificates folder yet: nothing to watch until a restart.
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
  };
}
