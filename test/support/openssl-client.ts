// openssl s_client driven from a test, for what node's TLS client cannot
// show the way a probe sees it (renegotiation with the R command).

import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Exchange {
  /** Sent once the handshake is done (lines end in CRLF on the wire). */
  send: string;
  /** What the output shows once the server answered it. */
  answered: RegExp;
}

const ECHO: Exchange = { send: 'ping\n', answered: /ping/ };

/** `openssl s_client -tls1_2 -crlf` to 127.0.0.1:port: after the handshake
 *  `first`, then "R" (renegotiate), then `after` if the connection is still
 *  up. Returns everything s_client printed. */
export async function sClientRenegotiate(port: number, caFile: string, servername: string, first: Exchange = ECHO, after = 'after-renegotiation\n'): Promise<string> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-tls1_2', '-crlf', '-CAfile', caFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.on('error', () => {}); // s_client may exit before all input is written
  const exited = once(child, 'exit');
  const waitFor = async (re: RegExp, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!re.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
  };
  await waitFor(/Verify return code/);
  child.stdin.write(first.send);
  await waitFor(first.answered);
  child.stdin.write('R\n');
  // Refused: s_client reports it and exits. Allowed: it carries on.
  await waitFor(/no renegotiation/, 1000);
  if (child.exitCode === null) child.stdin.write(after);
  await new Promise((r) => setTimeout(r, 300));
  child.stdin.end();
  const timer = setTimeout(() => child.kill(), 3000);
  await exited;
  clearTimeout(timer);
  return out;
}
