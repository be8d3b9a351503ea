// Free loopback ports for the servers under test. The peers' config files
// need concrete numbers, so ask the kernel for ephemeral ports and release
// them just before the server binds (a small race, checked by waitForPort).

import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const LOOPBACK = '127.0.0.1';

function oneFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, LOOPBACK, () => srv.close(() => resolve(true)));
  });
}

/** n distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await oneFreePort());
  return [...out];
}

/** A free port p such that p + 1 ... p + span - 1 are free too. */
export async function freeRun(span: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const p = await oneFreePort();
    if (p + span > 65535) continue;
    let ok = true;
    for (let i = 1; i < span && ok; i++) ok = await canBind(p + i);
    if (ok) return p;
  }
  throw new Error(`no run of ${span} free loopback ports found`);
}

/** Waits until something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs: number, what: string, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (alive && !alive()) throw new Error(`${what} exited before it listened on ${LOOPBACK}:${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, LOOPBACK);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${LOOPBACK}:${port} within ${timeoutMs} ms`);
}
