// The README's first command, as a reader runs it: `npm start` (and
// `npm start -- --acme`) is scripts/quickstart.ts. The script runs here on
// ports the environment moves (so it can run beside other tests), prints the
// walkthrough, and the curl it prints reaches the validated backend through
// the load balancer; Ctrl-C stops everything it started and exits 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FQDN } from '../../scripts/quickstart-lib.ts';
import { ROOT, freeOffset, freePort, httpsGet } from './support.ts';
import { waitFor } from '../support/wait.ts';

interface Walkthrough {
  output: () => string;
  stop(): Promise<number | null>;
}

async function startQuickstart(work: string, extraArgs: string[]): Promise<{ run: Walkthrough; port: number }> {
  const offset = await freeOffset([80, 443]);
  const env = {
    ...process.env,
    ISOBAR_QUICKSTART_WORK: work,
    ISOBAR_QUICKSTART_LB_PORT_OFFSET: String(offset),
    ISOBAR_QUICKSTART_ADMIN_PORT: String(await freePort()),
    ISOBAR_QUICKSTART_BACKEND_PORT: String(await freePort()),
    ISOBAR_QUICKSTART_HTTP_PORT: String(await freePort()),
    ISOBAR_QUICKSTART_HTTPS_PORT: String(await freePort()),
  };
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'quickstart.ts'), ...extraArgs], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const run: Walkthrough = {
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
  return { run, port: 443 + offset };
}

/** The --cacert path the printed curl line names (relative to the repository). */
function printedCacert(output: string): string {
  const m = /curl --resolve \S+ --cacert (\S+) https:\/\//.exec(output);
  assert.ok(m, `the walkthrough prints a curl line with --cacert:\n${output}`);
  return join(ROOT, m[1]!);
}

for (const variant of [
  { name: 'npm start', args: [] as string[], expectInOutput: /--- status \(isobar status\) ---/ },
  { name: 'npm start -- --acme', args: ['--acme'], expectInOutput: /issued by Pebble in \d+\.\d s/ },
]) {
  test(`${variant.name}: the printed curl reaches the validated backend through the load balancer; Ctrl-C exits 0`, { timeout: 150_000 }, async (t) => {
    const work = await mkdtemp(join(tmpdir(), 'isobar-quickstart-script-'));
    const { run, port } = await startQuickstart(work, variant.args);
    t.after(async () => {
      await run.stop();
      await rm(work, { recursive: true, force: true });
    });
    await waitFor('the walkthrough to start', () => run.output().includes('--- try it ---') || /quickstart: .*(exited|did not|FAILED|still)/.test(run.output()), 120_000, 100);
    const output = run.output();
    assert.match(output, /--- try it ---/, output);
    assert.match(output, variant.expectInOutput);
    const ca = await readFile(printedCacert(output), 'utf8');
    const answer = await httpsGet({ host: FQDN, port, ca });
    assert.equal(answer.status, 200, answer.body);
    const seen = JSON.parse(answer.body) as { clientAddress?: string; sni?: string; clientCertificate?: unknown };
    assert.equal(seen.clientAddress, '127.0.0.1');
    assert.equal(seen.sni, 'secure-backend.example.test');
    assert.ok(seen.clientCertificate, 'the proxy presented its client certificate to the backend');
    assert.equal(await run.stop(), 0, run.output());
  });
}
