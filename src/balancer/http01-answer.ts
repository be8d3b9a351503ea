// HTTP-01 answered on a plain listener before the flow reaches its target
// (the proxy, or a backend): an HTTPS redirect or a catch-all route behind
// the load balancer can then never break validation. Only the request line
// is read; anything else, or a token the table does not hold, goes to the
// target with every byte it sent.

import type { Socket } from 'node:net';
import type { AcmeChallengeTable } from './acme-challenges.ts';

const PREFIX = Buffer.from('GET /.well-known/acme-challenge/', 'latin1');
/** A request line longer than this is not a challenge. */
const MAX_LINE = 1024;
const REQUEST_LINE = /^GET \/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+) HTTP\/1\.[01]$/;

export type Http01Outcome = 'answered' | 'forward' | 'closed';

/** Decides from the first bytes whether `sock` is an HTTP-01 validation
 *  request for a token in `table`. 'forward': the bytes read are back on
 *  the socket (paused) for the normal path. A client that sends nothing
 *  within `waitMs` (a protocol where the server speaks first) is forwarded. */
export function answerHttp01(sock: Socket, table: AcmeChallengeTable, waitMs: number): Promise<Http01Outcome> {
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: Http01Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.pause();
      if (outcome === 'forward' && buf.length > 0) sock.unshift(buf);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const n = Math.min(buf.length, PREFIX.length);
      if (!buf.subarray(0, n).equals(PREFIX.subarray(0, n))) return finish('forward');
      const lf = buf.indexOf(0x0a);
      if (lf < 0) {
        if (buf.length > MAX_LINE) finish('forward');
        return;
      }
      // The request line ends in CRLF; a bare LF is not a validation request.
      const m = lf > 0 && buf[lf - 1] === 0x0d ? REQUEST_LINE.exec(buf.subarray(0, lf - 1).toString('latin1')) : null;
      const keyAuthorization = m ? table.keyAuthorization(m[1]!) : undefined;
      if (keyAuthorization === undefined) return finish('forward');
      finish('answered');
      const body = Buffer.from(keyAuthorization, 'utf8');
      sock.end(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${keyAuthorization}`);
    };
    const onClose = (): void => finish('closed');
    const timer = setTimeout(() => finish('forward'), waitMs);
    timer.unref();
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.resume();
  });
}
