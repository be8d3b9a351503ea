// A reference reading of a client's HTTP/1 byte stream, written from RFC
// 9112 alone, for the property tests: the whole requests it holds (method,
// target, body) up to the first thing that is not a valid message, or the
// request after which the connection closes. It is deliberately at least
// as lenient as the proxy's parser where RFC 9112 allows leniency (empty
// lines, or a bare CR or LF, before a request (§2.2), several spaces between the request line's
// words (§3), BWS around
// chunk extensions, codings before a final chunked), and never guesses a
// framing RFC 9112 calls faulty (Content-Length with Transfer-Encoding,
// differing Content-Length values): so anything the proxy forwards must be
// a request this reading found, in the same order.

export interface ReferenceRequest {
  method: string;
  target: string;
  body: string;
}

export interface ReferenceReading {
  requests: ReferenceRequest[];
  /** The last request closes the connection (Connection: close, HTTP/1.0). */
  closes: boolean;
  /** How the stream ends: after a request that closes the connection or at
   *  a message boundary ('clean'), in a message head or body ('partial-head',
   *  'partial-body'), or at bytes that are no valid message ('error'). */
  end: 'clean' | 'partial-head' | 'partial-body' | 'error';
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;

export function readReference(stream: string): ReferenceReading {
  const requests: ReferenceRequest[] = [];
  let at = 0;
  let closes = false;
  const done = (end: ReferenceReading['end']): ReferenceReading => ({ requests, closes, end });
  const line = (): string | undefined | null => {
    // undefined: no CRLF yet; null: a bare LF or CR inside the line.
    const end = stream.indexOf('\r\n', at);
    if (end < 0) return /[\r\n]/.test(stream.slice(at).replace(/\r$/, '')) ? null : undefined;
    const l = stream.slice(at, end);
    if (/[\r\n]/.test(l)) return null;
    at = end + 2;
    return l;
  };
  for (;;) {
    while (stream[at] === '\r' || stream[at] === '\n') at++;
    if (at >= stream.length) return done('clean');
    const start = line();
    if (start === undefined) return done('partial-head');
    if (start === null) return done('error');
    const m = /^([A-Z]+) +(\S+) +HTTP\/1\.([01])$/.exec(start);
    if (!m || !TARGET.test(m[2]!)) return done('error');
    const [, method, target, minor] = m as unknown as [string, string, string, string];
    const fields: [string, string][] = [];
    for (;;) {
      const l = line();
      if (l === undefined) return done('partial-head');
      if (l === null) return done('error');
      if (l === '') break;
      const c = l.indexOf(':');
      if (c <= 0 || !TOKEN.test(l.slice(0, c))) return done('error');
      const value = l.slice(c + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (!FIELD_VALUE.test(value)) return done('error');
      fields.push([l.slice(0, c).toLowerCase(), value]);
    }
    const all = (n: string): string[] => fields.filter(([k]) => k === n).map(([, v]) => v);
    const te = all('transfer-encoding');
    const cl = all('content-length');
    let body = '';
    if (te.length > 0) {
      if (cl.length > 0) return done('error');
      const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase());
      if (codings.at(-1) !== 'chunked') return done('error');
      const parts: string[] = [];
      for (;;) {
        const size = line();
        if (size === undefined) return done('partial-body');
        if (size === null) return done('error');
        const s = /^([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/.exec(size);
        if (!s || s[1]!.length > 15) return done('error');
        const n = parseInt(s[1]!, 16);
        if (n === 0) break;
        if (stream.length < at + n + 2) return done('partial-body');
        parts.push(stream.slice(at, at + n));
        if (stream.slice(at + n, at + n + 2) !== '\r\n') return done('error');
        at += n + 2;
      }
      for (;;) {
        const t = line();
        if (t === undefined) return done('partial-body');
        if (t === null) return done('error');
        if (t === '') break;
        const c = t.indexOf(':');
        if (c <= 0 || !TOKEN.test(t.slice(0, c))) return done('error');
      }
      body = parts.join('');
    } else if (cl.length > 0) {
      if (!cl.every((v) => /^[0-9]+$/.test(v) && v === cl[0])) return done('error');
      const n = Number(cl[0]);
      if (!Number.isSafeInteger(n)) return done('error');
      if (stream.length < at + n) return done('partial-body');
      body = stream.slice(at, at + n);
      at += n;
    }
    requests.push({ method, target, body });
    const connection = all('connection').join(',').toLowerCase().split(',').map((s) => s.trim());
    // The last request of the connection, whatever follows (RFC 9112 §9.3);
    // an HTTP/1.0 message with Transfer-Encoding ends it too (§6.1).
    if (connection.includes('close') || (minor === '0' && !connection.includes('keep-alive')) || (minor === '0' && te.length > 0)) {
      closes = true;
      return done('clean');
    }
  }
}
