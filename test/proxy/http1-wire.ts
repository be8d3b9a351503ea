// A raw HTTP/1 client for wire-level tests: writes bytes exactly as given
// and reads the responses off the socket (status, headers, body by
// Content-Length or chunked; 1xx skipped), until the server closes. With
// `probe`, once the expected responses are in it sends one more request on
// the same connection: a connection that is kept must answer exactly that
// one, which proves it is still in step (a desynchronised connection would
// answer something else, or nothing).
import net from 'node:net';

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface WireResult {
  responses: WireResponse[];
  /** The server closed the connection (FIN or reset). */
  closed: boolean;
  /** The probe request was answered on the same connection. */
  probed: boolean;
  /** Bytes after the last whole response that did not parse as one. */
  junk: string;
}

export interface WireOptions {
  /** After this many responses, send `probe` and expect its answer; without
   *  a probe, stop there (the connection's state is not looked at). */
  expect?: number;
  /** A request whose response proves the connection is in step. */
  probe?: string;
  /** Milliseconds to wait for the whole exchange (default 5000). */
  timeoutMs?: number;
  /** Write the chunks this many milliseconds apart (default 0: one write). */
  gapMs?: number;
  /** Connect with a PROXY header first (the load balancer's listener). */
  prefix?: Buffer;
  /** Half-close this many milliseconds after the last write. */
  endAfterMs?: number;
}

/** Parses whole responses at the start of `buf`; returns them and the rest. */
export function parseResponses(buf: Buffer): { responses: WireResponse[]; rest: Buffer } {
  const responses: WireResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    const status = Number(m[1]);
    let next = end + 4;
    let body = '';
    if (status >= 100 && status < 200) {
      at = next;
      continue;
    }
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let p = next;
      let complete = false;
      for (;;) {
        const eol = buf.indexOf('\r\n', p);
        if (eol < 0) break;
        const size = parseInt(buf.subarray(p, eol).toString('latin1'), 16);
        if (!Number.isFinite(size)) break;
        if (size === 0) {
          const tEnd = buf.indexOf('\r\n\r\n', eol);
          if (tEnd < 0) break;
          p = tEnd + 4;
          complete = true;
          break;
        }
        if (buf.length < eol + 2 + size + 2) break;
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        p = eol + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts).toString('latin1');
      next = p;
    } else {
      const n = Number(headers['content-length'] ?? '0');
      if (buf.length < next + n) break;
      body = buf.subarray(next, next + n).toString('latin1');
      next += n;
    }
    responses.push({ status, headers, body });
    at = next;
  }
  return { responses, rest: buf.subarray(at) };
}

export function wire(port: number, data: string | Buffer | (string | Buffer)[], o: WireOptions = {}): Promise<WireResult> {
  const chunks = (Array.isArray(data) ? data : [data]).map((d) => (typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let probing = false;
    let written = false;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const { responses, rest } = parseResponses(buf);
      const probed = probing && o.expect !== undefined && responses.length === o.expect + 1;
      resolve({ responses: probing ? responses.slice(0, o.expect) : responses, closed, probed, junk: rest.toString('latin1') });
    };
    const timer = setTimeout(() => finish(false), o.timeoutMs ?? 5000);
    const step = (): void => {
      if (o.expect === undefined || !written) return;
      const n = parseResponses(buf).responses.length;
      if (o.probe === undefined) {
        if (n >= o.expect) finish(false);
        return;
      }
      if (!probing && n >= o.expect) {
        probing = true;
        if (!s.destroyed) s.write(o.probe);
      } else if (probing && n >= o.expect + 1) finish(false);
    };
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      step();
    });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', async () => {
      if (o.prefix) s.write(o.prefix);
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
      }
      written = true;
      step();
      if (o.endAfterMs !== undefined) setTimeout(() => s.end(), o.endAfterMs);
    });
  });
}
