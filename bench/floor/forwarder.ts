// The "node floor" HTTP/1.1 forwarder: the least a Node program can do to
// proxy HTTP/1.1 honestly, as the ceiling isobar's proxy is measured
// against. Per downstream connection: an optional PROXY v2 header (client
// address), then requests read up to the end of the head, routed by Host,
// the Connection field dropped and X-Forwarded-For appended; request bodies
// and responses framed by Content-Length only (no chunked coding: the
// benchmark's backend never sends it); one upstream connection at a time per
// downstream, kept in a small idle pool when the downstream goes. It is a
// measurement, not a product: no timeouts, no limits beyond the head size.

import net from 'node:net';
import tls from 'node:tls';

export interface Upstream {
  name: string;
  host: string;
  port: number;
  /** present: re-encrypt, with these options (CA, servername, client certificate) */
  tls?: tls.ConnectionOptions;
}

const END_OF_HEAD = Buffer.from('\r\n\r\n');
const PP2_SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');
const MAX_HEAD = 64 * 1024;
const idle = new Map<string, net.Socket[]>();

function reply(status: string): Buffer {
  return Buffer.from(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`, 'latin1');
}

function connectUpstream(u: Upstream): net.Socket {
  const pool = idle.get(u.name);
  while (pool && pool.length > 0) {
    const s = pool.pop()!;
    if (s.destroyed) continue;
    s.removeAllListeners('close');
    s.removeAllListeners('error');
    return s;
  }
  const s = u.tls
    ? tls.connect({ host: u.host, port: u.port, ...u.tls })
    : net.connect({ host: u.host, port: u.port, noDelay: true });
  s.setNoDelay(true);
  return s;
}

function release(u: Upstream, s: net.Socket): void {
  for (const e of ['data', 'drain', 'close', 'error']) s.removeAllListeners(e);
  let pool = idle.get(u.name);
  if (!pool) idle.set(u.name, (pool = []));
  const mine = pool;
  mine.push(s);
  s.on('error', () => s.destroy());
  s.once('close', () => {
    const i = mine.indexOf(s);
    if (i >= 0) mine.splice(i, 1);
  });
}

/** Value of a header line "Name: value" (lower-case name), or undefined. */
function field(line: string, lname: string): string | undefined {
  if (line.length <= lname.length || line.charCodeAt(lname.length) !== 58 /* : */) return undefined;
  if (line.slice(0, lname.length).toLowerCase() !== lname) return undefined;
  return line.slice(lname.length + 1).trim();
}

export function serveConnection(down: net.Socket, routes: Map<string, Upstream>, proxyProtocol: boolean): void {
  down.setNoDelay(true);
  let pending: Buffer = Buffer.alloc(0);
  let clientIp = down.remoteAddress ?? '';
  let havePp = !proxyProtocol;
  let phase: 'head' | 'body' | 'response' = 'head';
  let reqLeft = 0;
  let closeAfter = false;
  let route: Upstream | undefined;
  let up: net.Socket | undefined;
  let respHead: Buffer | undefined = Buffer.alloc(0);
  let respLeft = 0;

  const fail = (status: string) => {
    down.end(reply(status));
    up?.destroy();
    up = undefined;
  };

  const onUpData = (chunk: Buffer) => {
    if (respHead !== undefined) {
      const all = respHead.length === 0 ? chunk : Buffer.concat([respHead, chunk]);
      const end = all.indexOf(END_OF_HEAD);
      if (end < 0) {
        if (all.length > MAX_HEAD) return fail('502 Bad Gateway');
        respHead = all;
        return;
      }
      const lines = all.toString('latin1', 0, end).split('\r\n');
      let out = lines[0] + '\r\n';
      let length: number | undefined;
      for (let i = 1; i < lines.length; i++) {
        const l = lines[i]!;
        if (field(l, 'connection') !== undefined) continue;
        const cl = field(l, 'content-length');
        if (cl !== undefined) length = Number(cl);
        out += l + '\r\n';
      }
      if (length === undefined || !Number.isInteger(length)) return fail('502 Bad Gateway');
      if (closeAfter) out += 'connection: close\r\n';
      out += '\r\n';
      respHead = undefined;
      respLeft = length;
      const body = all.subarray(end + 4, end + 4 + respLeft);
      respLeft -= body.length;
      // Head and the body received with it in one write.
      write(body.length > 0 ? Buffer.concat([Buffer.from(out, 'latin1'), body]) : Buffer.from(out, 'latin1'));
    } else {
      const body = chunk.length <= respLeft ? chunk : chunk.subarray(0, respLeft);
      respLeft -= body.length;
      write(body);
    }
    if (respLeft === 0) responseDone();
  };

  const write = (b: Buffer) => {
    if (!down.write(b) && up) {
      const u = up;
      u.pause();
      down.once('drain', () => u.resume());
    }
  };

  const responseDone = () => {
    respHead = Buffer.alloc(0);
    phase = 'head';
    if (closeAfter) {
      down.end();
      return;
    }
    if (pending.length > 0) {
      const p = pending;
      pending = Buffer.alloc(0);
      onDownData(p);
    }
  };

  const startRequest = (): boolean => {
    const end = pending.indexOf(END_OF_HEAD);
    if (end < 0) {
      if (pending.length > MAX_HEAD) fail('431 Request Header Fields Too Large');
      return false;
    }
    const lines = pending.toString('latin1', 0, end).split('\r\n');
    const requestLine = lines[0]!;
    let out = requestLine + '\r\n';
    let host = '';
    let length = 0;
    closeAfter = requestLine.endsWith('HTTP/1.0');
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const conn = field(l, 'connection');
      if (conn !== undefined) {
        if (/\bclose\b/i.test(conn)) closeAfter = true;
        continue;
      }
      if (field(l, 'transfer-encoding') !== undefined) {
        fail('501 Not Implemented');
        return false;
      }
      const h = field(l, 'host');
      if (h !== undefined) host = h;
      const cl = field(l, 'content-length');
      if (cl !== undefined) length = Number(cl);
      out += l + '\r\n';
    }
    out += `x-forwarded-for: ${clientIp}\r\n\r\n`;
    const colon = host.indexOf(':');
    const next = routes.get((colon < 0 ? host : host.slice(0, colon)).toLowerCase());
    if (!next) {
      fail('404 Not Found');
      return false;
    }
    if (up && route !== next) {
      up.destroy();
      up = undefined;
    }
    route = next;
    if (!up) {
      const u = (up = connectUpstream(next));
      u.on('data', onUpData);
      u.once('close', () => {
        if (up === u) down.destroy();
      });
      u.on('error', () => u.destroy());
    }
    reqLeft = Number.isInteger(length) && length > 0 ? length : 0;
    const body = pending.subarray(end + 4, end + 4 + reqLeft);
    pending = pending.subarray(end + 4 + body.length);
    reqLeft -= body.length;
    up.write(body.length > 0 ? Buffer.concat([Buffer.from(out, 'latin1'), body]) : Buffer.from(out, 'latin1'));
    phase = reqLeft > 0 ? 'body' : 'response';
    return true;
  };

  const onDownData = (chunk: Buffer) => {
    if (!havePp) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      if (pending.length < 16) return;
      if (!pending.subarray(0, 12).equals(PP2_SIGNATURE)) return void down.destroy();
      const len = pending.readUInt16BE(14);
      if (pending.length < 16 + len) return;
      if (pending[13] === 0x11 && len >= 12) clientIp = `${pending[16]}.${pending[17]}.${pending[18]}.${pending[19]}`;
      havePp = true;
      chunk = pending.subarray(16 + len);
      pending = Buffer.alloc(0);
      if (chunk.length === 0) return;
    }
    if (phase === 'body') {
      const body = chunk.length <= reqLeft ? chunk : chunk.subarray(0, reqLeft);
      reqLeft -= body.length;
      up!.write(body);
      if (reqLeft === 0) phase = 'response';
      chunk = chunk.subarray(body.length);
      if (chunk.length === 0) return;
    }
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    // One request at a time, in order: a pipelined one waits for the response before it.
    if (phase === 'head') startRequest();
  };

  down.on('data', onDownData);
  down.on('error', () => down.destroy());
  down.once('close', () => {
    const u = up;
    up = undefined;
    if (!u) return;
    if (phase === 'head' && respHead !== undefined && respHead.length === 0 && route && !u.destroyed) release(route, u);
    else u.destroy();
  });
}
