// The certificate store's module graph leaves acme-client (with axios) and
// undici unloaded until an order or a renewal-window request needs them:
// balancer workers open the store and never order, and carried about 12 MB
// of heap each for them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const CERTS = fileURLToPath(new URL('../../src/certs/index.ts', import.meta.url));

/** The packages under node_modules a fresh process has loaded after running `code`. */
async function loadedPackages(code: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    ${code}
    const names = Object.keys(createRequire(import.meta.url).cache)
      .filter((k) => k.includes('/node_modules/'))
      .map((k) => {
        const parts = k.split('/node_modules/').at(-1).split('/');
        return parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join('/');
      });
    process.stdout.write(JSON.stringify([...new Set(names)]));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as string[];
}

test('opening the certificate store loads neither acme-client nor undici', async () => {
  const loaded = await loadedPackages(`const { CertificateStore } = await import(${JSON.stringify(CERTS)}); void CertificateStore;`);
  assert.ok(loaded.includes('@peculiar/x509'), `the probe sees the store's own packages: ${loaded.join(', ')}`);
  assert.ok(!loaded.includes('acme-client'), 'acme-client is loaded');
  assert.ok(!loaded.includes('undici'), 'undici is loaded');
});
