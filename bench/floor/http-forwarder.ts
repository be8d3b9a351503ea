// The node floor's forwarder with `node:http` as its downstream server: the
// raw-socket forwarder's upstream side (one pooled connection per request,
// responses framed by Content-Length) behind Node's HTTP/1.1 server, which
// parses the requests (llhttp) and writes the responses. Measured beside the
// raw floor it says what `node:http` itself costs per request, the most an
// HTTP/1.1 server of isobar's own could save (bench/README.md).

import http from 'node:http';
import net from 'node:net';
import { type Upstream } from './forwarder.ts';

const END_OF_HEAD = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;
const idle = new Map<string, net.Socket[]>();

/** An idle connection's error (the backend closed it) only ends it. */
function idleError(this: net.Socket): void {
  this.destroy();
}

function take(u: Upstream): net.Socket {
  const pool = idle.get(u.name);
  while (pool !== undefined && pool.length > 0) {
    const s = pool.pop()!;
    s.off('error', idleError);
    if (!s.destroyed) return s;
  }
  return net.connect({ host: u.host, port: u.port, noDelay: true });
}

function giveBack(u: Upstream, s: net.Socket): void {
  let pool = idle.get(u.name);
  if (pool === undefined) idle.set(u.name, (pool = []));
  s.on('error', idleError);
  pool.push(s);
}

function answer(res: http.ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': '0', connection: 'close' });
  res.end();
}

export function serveHttpRequests(server: http.Server, routes: Map<string, Upstream>): void {
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const host = req.headers.host ?? '';
    const colon = host.indexOf(':');
    const u = routes.get((colon < 0 ? host : host.slice(0, colon)).toLowerCase());
    if (u === undefined || u.tls !== undefined) return answer(res, 404);
    if (req.headers['transfer-encoding'] !== undefined) return answer(res, 501);
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') continue;
      head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    head += `x-forwarded-for: ${req.socket.remoteAddress}\r\n\r\n`;
    const up = take(u);
    let got: Buffer | undefined = Buffer.alloc(0);
    let left = 0;
    const fail = (): void => {
      up.destroy();
      if (!res.headersSent) answer(res, 502);
      else res.destroy();
    };
    const done = (): void => {
      up.off('data', onData);
      up.off('error', fail);
      up.off('close', fail);
      giveBack(u, up);
    };
    const onData = (chunk: Buffer): void => {
      if (got !== undefined) {
        const all = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
        const end = all.indexOf(END_OF_HEAD);
        if (end < 0) {
          if (all.length > MAX_HEAD) return fail();
          got = all;
          return;
        }
        const lines = all.toString('latin1', 0, end).split('\r\n');
        const status = Number(lines[0]!.slice(9, 12));
        const fields: string[] = [];
        let length = NaN;
        for (let i = 1; i < lines.length; i++) {
          const l = lines[i]!;
          const c = l.indexOf(':');
          const name = l.slice(0, c);
          const lower = name.toLowerCase();
          if (lower === 'connection' || lower === 'keep-alive') continue;
          const value = l.slice(c + 1).trim();
          if (lower === 'content-length') length = Number(value);
          fields.push(name, value);
        }
        if (!Number.isInteger(length)) return fail();
        got = undefined;
        left = length;
        res.writeHead(status, fields);
        chunk = all.subarray(end + 4);
      }
      const body = chunk.length <= left ? chunk : chunk.subarray(0, left);
      left -= body.length;
      if (left === 0) {
        done();
        res.end(body);
      } else if (!res.write(body)) {
        up.pause();
        res.once('drain', () => up.resume());
      }
    };
    up.on('data', onData);
    up.once('error', fail);
    up.once('close', fail);
    up.write(head, 'latin1');
    // A body as it comes; none (the benchmark's GETs), no stream to set up.
    const cl = req.headers['content-length'];
    if (cl !== undefined && cl !== '0') req.pipe(up, { end: false });
  });
}
