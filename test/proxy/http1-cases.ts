// The HTTP/1 conformance cases: bytes a client sends, the statuses of the
// responses it must get, whether the connection stays in step ('keep': a
// probe request on it is answered next) or is closed, and exactly which
// requests the upstream receives (method, target and body; the probe left
// out). Generated from compact tables along RFC 9112: §2 message format,
// §3 request line, §5 field syntax, §6-§7 message body and chunked coding,
// §9 connection management (pipelining and every close condition), and
// the request smuggling corpora (CL/TE obfuscation over every control
// byte, chunk-size and chunk-extension oddities, bare CR and LF, obs-fold).
//
// A refused request is always answered 400 (431, 501 or 505 where named)
// and closed, and nothing of it reaches the upstream. A transfer coding the
// proxy does not implement is 501 when the parser hands the request over
// and 400 when the parser itself refuses the line: either is a refusal.

export const HOST = 'app.test';
/** Routed to the same upstream (absolute-form targets name it). */
export const OTHER = 'other.test';
export const PROBE = `GET /probe HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

export interface Http1Case {
  group: string;
  name: string;
  /** Sent as given; several strings are written separately, in order. */
  bytes: string | string[];
  /** Statuses of the responses, in order (a list: any one of them). */
  statuses: (number | readonly number[])[];
  conn: 'keep' | 'close';
  /** "METHOD target" (+ " <body>" when the body is not empty), in order. */
  upstream: string[];
  /** Field lines the upstream must have received with the first request. */
  fields?: [name: string, values: string[]][];
}

const cases: Http1Case[] = [];
const add = (group: string, name: string, bytes: Http1Case['bytes'], statuses: Http1Case['statuses'], conn: Http1Case['conn'], upstream: string[], fields?: Http1Case['fields']): void => {
  cases.push({ group, name, bytes, statuses, conn, upstream, ...(fields ? { fields } : {}) });
};
const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
const ok = (head: string, body = ''): string => `${head}\r\n\r\n${body}`;
const get = (path = '/', extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n${extra}\r\n`;
/** Refused for its transfer coding. */
const REFUSED_TE = [400, 501] as const;
const SMUGGLED = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

// ---- §3 request line ----

for (const m of ['GET', 'DELETE', 'OPTIONS', 'PUT', 'PATCH', 'POST']) {
  const body = m === 'GET' || m === 'DELETE' || m === 'OPTIONS' ? '' : 'Content-Length: 0\r\n';
  add('request line', `method ${m}`, `${m} /m HTTP/1.1\r\nHost: ${HOST}\r\n${body}\r\n`, [200], 'keep', [`${m} /m`]);
}
for (const [name, line] of [
  ['lower-case method', 'get / HTTP/1.1'],
  ['unknown method', 'FOO / HTTP/1.1'],
  ['method with a control byte', 'G\x01T / HTTP/1.1'],
  ['leading space', ' GET / HTTP/1.1'],
  ['tab between method and target', 'GET\t/ HTTP/1.1'],
  ['trailing space after the version', 'GET / HTTP/1.1 '],
  ['space inside the target', 'GET /a b HTTP/1.1'],
  ['non-ASCII byte in the target', 'GET /\x80 HTTP/1.1'],
  ['control byte in the target', 'GET /\x7f HTTP/1.1'],
  ['no target', 'GET HTTP/1.1'],
  ['bare CR ending the request line', 'GET / HTTP/1.1\r'],
] as const) {
  add('request line', name, `${line}\r\nHost: ${HOST}\r\n\r\n`, [400], 'close', []);
}
add('request line', 'bare LF line endings', `GET / HTTP/1.1\nHost: ${HOST}\n\n`, [400], 'close', []);
add('request line', 'empty line before the request line is ignored (§2.2)', `\r\n${get('/after-crlf')}`, [200], 'keep', ['GET /after-crlf']);
add('request line', 'two spaces after the method', `GET  /two HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, [200], 'keep', ['GET /two']);

// Versions: 1.0 and 1.1 are spoken; a version llhttp parses but that is
// not 1.x gets 505, 0.9 and unparsable ones 400; all close.
add('version', 'HTTP/1.1', get('/v11'), [200], 'keep', ['GET /v11']);
add('version', 'HTTP/1.0 closes without keep-alive', `GET /v10 HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`, [200], 'close', ['GET /v10']);
add('version', 'HTTP/1.0 with keep-alive stays open', `GET /v10k HTTP/1.0\r\nHost: ${HOST}\r\nConnection: keep-alive\r\n\r\n`, [200], 'keep', ['GET /v10k']);
add('version', 'HTTP/2.0', `GET / HTTP/2.0\r\nHost: ${HOST}\r\n\r\n`, [505], 'close', []);
add('version', 'HTTP/0.9 request line (no version)', 'GET /\r\n\r\n', [400], 'close', []);
add('version', 'HTTP/0.9', `GET / HTTP/0.9\r\nHost: ${HOST}\r\n\r\n`, [400], 'close', []);
for (const v of ['HTTP/1.2', 'HTTP/3.0', 'HTTP/2.1', 'HTTP/9.9', 'HTTP/1.10', 'HTTP/1', 'HTTP/11', 'http/1.1', 'HTTP/1.1x', 'HTTP /1.1', 'HTTP/ 1.1', 'HTTP/-1.1', 'HTTQ/1.1', 'ICE/1.0']) {
  add('version', `version ${JSON.stringify(v)}`, `GET / ${v}\r\nHost: ${HOST}\r\n\r\n`, [400], 'close', []);
}

// Targets (§3.2): absolute form routes by its authority and replaces Host.
add('target', 'origin form with query', get('/q?a=1&b=2'), [200], 'keep', ['GET /q?a=1&b=2']);
add('target', 'a fragment is not sent upstream', get('/frag#part'), [200], 'keep', ['GET /frag']);
add('target', 'absolute form routes by its authority', `GET http://${OTHER}/abs HTTP/1.1\r\nHost: nowhere.test\r\n\r\n`, [200], 'keep', ['GET /abs'], [['host', [OTHER]]]);
add('target', 'absolute form, https scheme', `GET https://${OTHER}/abs HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, [200], 'keep', ['GET /abs'], [['host', [OTHER]]]);
add('target', 'absolute form, upper-case scheme', `GET HTTP://${OTHER}/abs HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, [200], 'keep', ['GET /abs'], [['host', [OTHER]]]);
add('target', 'absolute form with a port', `GET http://${OTHER}:8080/abs HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, [200], 'keep', ['GET /abs'], [['host', [`${OTHER}:8080`]]]);
add('target', 'absolute form without a path', `GET http://${OTHER}?x=1 HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, [200], 'keep', ['GET /?x=1']);
add('target', 'absolute form naming an unknown host is not routed by Host', `GET http://nowhere.test/ HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, [404], 'keep', []);
for (const [name, target] of [
  ['ftp scheme', `ftp://${OTHER}/x`],
  ['no authority', 'http:///x'],
  ['userinfo in the authority', `http://user@${OTHER}/x`],
  ['asterisk form on GET', '*'],
  ['authority form outside CONNECT', `${HOST}:80`],
] as const) {
  add('target', name, `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, [400], 'close', []);
}

// ---- §3.2 Host ----

add('host', 'HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', [400], 'close', []);
add('host', 'HTTP/1.0 without Host routes nowhere', 'GET / HTTP/1.0\r\n\r\n', [404], 'close', []);
add('host', 'Host with a port', `GET /hp HTTP/1.1\r\nHost: ${HOST}:80\r\n\r\n`, [200], 'keep', ['GET /hp']);
add('host', 'Host in upper case', `GET /hu HTTP/1.1\r\nHost: APP.TEST\r\n\r\n`, [200], 'keep', ['GET /hu']);
add('host', 'Host with a trailing dot', `GET /hd HTTP/1.1\r\nHost: ${HOST}.\r\n\r\n`, [200], 'keep', ['GET /hd']);
add('host', 'empty Host routes nowhere', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', [404], 'keep', []);
add('host', 'IP literal Host', 'GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n', [404], 'keep', []);
for (const [name, lines] of [
  ['two identical Host fields', `Host: ${HOST}\r\nHost: ${HOST}`],
  ['two different Host fields', `Host: ${HOST}\r\nHost: ${OTHER}`],
  ['Host twice in different case', `Host: ${HOST}\r\nhOST: ${HOST}`],
  ['Host with a space inside', 'Host: app test'],
  ['Host with a path', `Host: ${HOST}/x`],
  ['Host with userinfo', `Host: u@${HOST}`],
  ['Host with a non-numeric port', `Host: ${HOST}:http`],
  ['Host with two ports', `Host: ${HOST}:80:80`],
] as const) {
  add('host', name, `GET / HTTP/1.1\r\n${lines}\r\n\r\n`, [400], 'close', []);
}

// ---- §5 field syntax ----

add('fields', 'OWS around a value is not part of it', get('/ows', 'X-A:  \t spaced \t \r\n'), [200], 'keep', ['GET /ows'], [['x-a', ['spaced']]]);
add('fields', 'HTAB inside a value', get('/tab', 'X-A: a\tb\r\n'), [200], 'keep', ['GET /tab'], [['x-a', ['a\tb']]]);
add('fields', 'obs-text in a value', get('/obs', 'X-A: caf\xe9\r\n'), [200], 'keep', ['GET /obs'], [['x-a', ['caf\xe9']]]);
add('fields', 'empty value', get('/empty', 'X-A:\r\n'), [200], 'keep', ['GET /empty'], [['x-a', ['']]]);
add('fields', 'list fields on several lines all reach the upstream', get('/list', 'Accept: a/a\r\nAccept: b/b\r\nX-L: 1\r\nX-L: 2\r\n'), [200], 'keep', ['GET /list'], [
  ['accept', ['a/a, b/b']],
  ['x-l', ['1, 2']],
]);
for (const [name, line] of [
  ['space before the colon', 'X-A : v'],
  ['tab before the colon', 'X-A\t: v'],
  ['no colon', 'X-A v'],
  ['empty field name', ': v'],
  ['obs-fold (a continuation line)', 'X-A: v\r\n  folded'],
  ['obs-fold with a tab', 'X-A: v\r\n\tfolded'],
  ['bare CR inside a value', 'X-A: a\rb'],
  ['bare LF ending a field line', 'X-A: v\nX-B: w'],
  ['separator in a field name', 'X(A): v'],
  ['non-ASCII field name', 'X-\xe9: v'],
] as const) {
  add('fields', name, `GET / HTTP/1.1\r\nHost: ${HOST}\r\n${line}\r\n\r\n`, [400], 'close', []);
}
// Every control byte: in a field name, and in a field value (HTAB is OWS).
for (let b = 0; b <= 0x7f; b++) {
  if (b >= 0x20 && b !== 0x7f) continue;
  const c = String.fromCharCode(b);
  if (b !== 0x0d && b !== 0x0a) add('fields', `control byte ${hex(b)} in a field name`, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-${c}A: v\r\n\r\n`, [400], 'close', []);
  if (b === 0x09) continue;
  if (b === 0x0a) continue; // a bare LF ends the line: covered above
  add('fields', `control byte ${hex(b)} in a field value`, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-A: a${c}b\r\n\r\n`, [400], 'close', []);
}
add('fields', '100 field lines are served', get('/h100', Array.from({ length: 99 }, (_, i) => `X-${i}: v\r\n`).join('')), [200], 'keep', ['GET /h100']);
add('fields', 'more than 100 field lines: 431 (Envoy\'s max_headers_count)', get('/h101', Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('')), [431], 'close', []);

// Duplicated singleton fields (those node:http would keep one of) are
// refused, never trimmed to one.
for (const [name, a, b] of [
  ['authorization', 'Basic YTpi', 'Basic Yzpk'],
  ['proxy-authorization', 'Basic YTpi', 'Basic Yzpk'],
  ['content-type', 'text/plain', 'application/json'],
  ['user-agent', 'a', 'b'],
  ['referer', 'http://a/', 'http://b/'],
  ['from', 'a@example.com', 'b@example.com'],
  ['if-modified-since', 'Sat, 01 Jan 2000 00:00:00 GMT', 'Sun, 02 Jan 2000 00:00:00 GMT'],
  ['if-unmodified-since', 'Sat, 01 Jan 2000 00:00:00 GMT', 'Sun, 02 Jan 2000 00:00:00 GMT'],
  ['max-forwards', '1', '2'],
  ['age', '1', '2'],
  ['etag', '"a"', '"b"'],
  ['expires', '0', '1'],
  ['last-modified', 'Sat, 01 Jan 2000 00:00:00 GMT', 'Sun, 02 Jan 2000 00:00:00 GMT'],
  ['location', '/a', '/b'],
  ['retry-after', '1', '2'],
  ['server', 'a', 'b'],
] as const) {
  add('duplicates', `one ${name} field is forwarded`, get(`/one-${name}`, `${name}: ${a}\r\n`), [200], 'keep', [`GET /one-${name}`], [[name, [a]]]);
  add('duplicates', `two ${name} fields`, get('/', `${name}: ${a}\r\n${name}: ${b}\r\n`), [400], 'close', []);
  add('duplicates', `two identical ${name} fields`, get('/', `${name}: ${a}\r\n${name}: ${a}\r\n`), [400], 'close', []);
}

// ---- §6 message body: Content-Length and Transfer-Encoding ----

const post = (headers: string, body: string, path = '/'): string => `POST ${path} HTTP/1.1\r\nHost: ${HOST}\r\n${headers}\r\n${body}`;
add('length', 'Content-Length body', post('Content-Length: 5\r\n', 'hello'), [200], 'keep', ['POST / <hello>']);
add('length', 'Content-Length 0', post('Content-Length: 0\r\n', ''), [200], 'keep', ['POST /']);
add('length', 'Content-Length with leading zeros', post('Content-Length: 005\r\n', 'hello'), [200], 'keep', ['POST / <hello>']);
add('length', 'a GET with a body', `GET /gb HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 3\r\n\r\nabc`, [200], 'keep', ['GET /gb <abc>']);
add('length', 'no length: no body, the next bytes are the next request', `POST /nobody HTTP/1.1\r\nHost: ${HOST}\r\n\r\n${get('/next')}`, [200, 200], 'keep', ['POST /nobody', 'GET /next']);
for (const [name, value] of [
  ['plus sign', '+5'],
  ['minus sign', '-1'],
  ['hex', '0x5'],
  ['a list', '5, 5'],
  ['a decimal point', '5.0'],
  ['empty', ''],
  ['letters', 'five'],
  ['beyond 2^64', '99999999999999999999'],
] as const) {
  add('length', `Content-Length ${name}`, post(`Content-Length: ${value}\r\n`, 'hello'), [400], 'close', []);
}
add('length', 'two equal Content-Length fields', post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'), [400], 'close', []);
add('length', 'two different Content-Length fields', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'), [400], 'close', []);
add('length', 'Content-Length and Transfer-Encoding', post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${SMUGGLED}`), [400], 'close', []);
add('length', 'Transfer-Encoding and Content-Length', post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', `0\r\n\r\n${SMUGGLED}`), [400], 'close', []);

const CHUNKED = '5\r\nhello\r\n0\r\n\r\n';
add('transfer-encoding', 'chunked', post('Transfer-Encoding: chunked\r\n', CHUNKED), [200], 'keep', ['POST / <hello>']);
for (const v of ['CHUNKED', 'Chunked', ' chunked', 'chunked ', '\tchunked']) {
  add('transfer-encoding', `Transfer-Encoding ${JSON.stringify(v)}`, post(`Transfer-Encoding:${v.startsWith(' ') || v.startsWith('\t') ? '' : ' '}${v}\r\n`, CHUNKED), [200], 'keep', ['POST / <hello>']);
}
for (const v of ['gzip, chunked', 'deflate, chunked', 'identity, chunked', 'x-custom, chunked']) {
  add('transfer-encoding', `codings before chunked: ${v} (501)`, post(`Transfer-Encoding: ${v}\r\n`, CHUNKED), [501], 'close', []);
}
add('transfer-encoding', 'codings on two lines, chunked last (501)', post('Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', CHUNKED), [501], 'close', []);
for (const v of ['gzip', 'identity', 'chunked, gzip', 'chunked, chunked', 'chunked;q=1', 'xchunked', 'chunkedx', 'chunk', '"chunked"', 'chunked,', 'chunked\t']) {
  add('transfer-encoding', `Transfer-Encoding ${JSON.stringify(v)}`, post(`Transfer-Encoding: ${v}\r\n`, CHUNKED), [REFUSED_TE], 'close', []);
}
add('transfer-encoding', 'chunked on two lines', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', CHUNKED), [400], 'close', []);
add('transfer-encoding', 'HTTP/1.0 with Transfer-Encoding and keep-alive (§6.1 faulty framing)', `POST / HTTP/1.0\r\nHost: ${HOST}\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, [400], 'close', []);
add('transfer-encoding', 'HTTP/1.0 with Transfer-Encoding', `POST / HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED}`, [400], 'close', []);

// CL/TE obfuscation over every control byte (and SP, DEL, obs-text bytes):
// only SP and HTAB are OWS around a value (llhttp takes no HTAB after a
// Transfer-Encoding value: refused); anything else makes the line invalid.
// Each carries a second request that runs only as the next request of a
// body framed as chunked, never out of a Content-Length body.
const OBFUSCATION_BYTES = [...Array.from({ length: 0x20 }, (_, i) => i), 0x20, 0x7f, 0x80, 0xa0, 0xff];
for (const b of OBFUSCATION_BYTES) {
  const c = String.fromCharCode(b);
  const ows = b === 0x20 || b === 0x09;
  const crlf = b === 0x0d || b === 0x0a;
  const name = hex(b);
  // Transfer-Encoding alone, chunked body, then a smuggled request.
  const te = (line: string, accepted: boolean, what: string): void => {
    add('obfuscation', `Transfer-Encoding with ${name} ${what}`, post(`${line}\r\n`, `${CHUNKED}${SMUGGLED}`), accepted ? [200, 200] : [REFUSED_TE], accepted ? 'keep' : 'close', accepted ? ['POST / <hello>', 'GET /smuggled'] : []);
  };
  te(`Transfer-Encoding:${c}chunked`, ows, 'before the value');
  te(`Transfer-Encoding: chunked${c}`, b === 0x20, 'after the value');
  if (!crlf) te(`Transfer-Encoding: chu${c}nked`, false, 'inside the value');
  if (!crlf) te(`Transfer-Encoding${c}: chunked`, false, 'before the colon');
  te(`${c}Transfer-Encoding: chunked`, false, 'before the name');
  // Content-Length framing a body that holds a smuggled request.
  const body = `0\r\n\r\n${SMUGGLED}`;
  const cl = (line: string, accepted: boolean, what: string): void => {
    add('obfuscation', `Content-Length with ${name} ${what}`, post(`${line}\r\n`, body), accepted ? [200] : [400], accepted ? 'keep' : 'close', accepted ? [`POST / <${body}>`] : []);
  };
  cl(`Content-Length:${c}${body.length}`, ows, 'before the value');
  cl(`Content-Length: ${body.length}${c}`, ows, 'after the value');
  if (!crlf) cl(`Content-Length${c}: ${body.length}`, false, 'before the colon');
  // Both, with the Transfer-Encoding line obfuscated: never two framings.
  if (!crlf) {
    add('obfuscation', `Content-Length and Transfer-Encoding with ${name}`, post(`Content-Length: ${body.length}\r\nTransfer-Encoding:${c}chunked\r\n`, body), [400], 'close', []);
  }
}

// §7.1 chunked coding: sizes, extensions, trailers.
const chunked = (body: string): string => post('Transfer-Encoding: chunked\r\n', body);
for (const [name, body, accepted] of [
  ['upper-case hex size', 'A\r\n0123456789\r\n0\r\n\r\n', '0123456789'],
  ['lower-case hex size', 'a\r\n0123456789\r\n0\r\n\r\n', '0123456789'],
  ['leading zeros in the size', '0005\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['several chunks', '2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n', 'hello'],
  ['a chunk extension', '5;a=b\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['a chunk extension without value', '5;a\r\nhello\r\n0;b\r\n\r\n', 'hello'],
  ['a quoted chunk extension', '5;a="b c"\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['several chunk extensions', '5;a=b;c=d\r\nhello\r\n0\r\n\r\n', 'hello'],
  ['a trailer field', '5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n', 'hello'],
  ['no chunks', '0\r\n\r\n', ''],
] as const) {
  add('chunked', name, chunked(body), [200], 'keep', [accepted ? `POST / <${accepted}>` : 'POST /']);
}
for (const [name, body] of [
  ['hex prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
  ['plus sign', '+5\r\nhello\r\n0\r\n\r\n'],
  ['minus sign', '-5\r\nhello\r\n0\r\n\r\n'],
  ['space after the size', '5 \r\nhello\r\n0\r\n\r\n'],
  ['space before an extension', '5 ;a=b\r\nhello\r\n0\r\n\r\n'],
  ['tab after the size', '5\t\r\nhello\r\n0\r\n\r\n'],
  ['size overflow', 'fffffffffffffffffff\r\nhello\r\n0\r\n\r\n'],
  ['non-hex size', 'zz\r\nhello\r\n0\r\n\r\n'],
  ['empty size line', '\r\nhello\r\n0\r\n\r\n'],
  ['bare LF after the size', '5\nhello\r\n0\r\n\r\n'],
  ['bare CR after the size', '5\rhello\r\n0\r\n\r\n'],
  ['data longer than the size', '5\r\nhelloX\r\n0\r\n\r\n'],
  ['bare LF after the data', '5\r\nhello\n0\r\n\r\n'],
  ['no CRLF after the data', '5\r\nhello0\r\n\r\n'],
  ['control byte in an extension', '5;a=\x01\r\nhello\r\n0\r\n\r\n'],
  ['extension name not a token', '5;(a)\r\nhello\r\n0\r\n\r\n'],
  ['trailer without a colon', '5\r\nhello\r\n0\r\nbad trailer\r\n\r\n'],
  ['trailer with obs-fold', '5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n'],
  ['bare LF ending the last chunk', '5\r\nhello\r\n0\n\n'],
] as const) {
  add('chunked', name, chunked(body), [400], 'close', []);
}

// ---- §9 connection management: pipelining and every close condition ----

add('pipeline', 'two GETs', `${get('/p1')}${get('/p2')}`, [200, 200], 'keep', ['GET /p1', 'GET /p2']);
add('pipeline', 'ten GETs in order', Array.from({ length: 10 }, (_, i) => get(`/p${i}`)).join(''), Array(10).fill(200), 'keep', Array.from({ length: 10 }, (_, i) => `GET /p${i}`));
add('pipeline', 'a slow POST, then a GET: in order (§9.3.2)', `${post('Content-Length: 2\r\n', 'hi', '/slow-post')}${get('/after')}`, [200, 200], 'keep', ['POST /slow-post <hi>', 'GET /after']);
add('pipeline', 'chunked POST, then a GET', `${chunked(CHUNKED)}${get('/after')}`, [200, 200], 'keep', ['POST / <hello>', 'GET /after']);
add('pipeline', 'a local 404, then a routed request', `GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n${get('/after')}`, [404, 200], 'keep', ['GET /after']);
add('pipeline', 'written in pieces across requests', [get('/a').slice(0, 10), get('/a').slice(10) + get('/b').slice(0, 7), get('/b').slice(7)], [200, 200], 'keep', ['GET /a', 'GET /b']);
// What follows a request that ends its connection is never read.
for (const [name, first] of [
  ['Connection: close', get('/c', 'Connection: close\r\n')],
  ['Connection: CLOSE', get('/c', 'Connection: CLOSE\r\n')],
  ['Connection: keep-alive, close', get('/c', 'Connection: keep-alive, close\r\n')],
  ['HTTP/1.0 without keep-alive', `GET /c HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`],
  ['HTTP/1.0 with close and keep-alive on two lines', `GET /c HTTP/1.0\r\nHost: ${HOST}\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n`],
  ['close and keep-alive on two lines', get('/c', 'Connection: keep-alive\r\nConnection: close\r\n')],
] as const) {
  for (const [after, tail] of [
    ['a request', get('/never')],
    ['a POST', post('Content-Length: 2\r\n', 'hi', '/never')],
    ['garbage', 'GARBAGE\r\n\r\n'],
    ['a bare CRLF and garbage', '\r\nxx'],
    ['a malformed request', 'GET /never HTTP/1.1\r\nBad Header\r\n\r\n'],
  ] as const) {
    add('close conditions', `${name}, then ${after}`, `${first}${tail}`, [200], 'close', ['GET /c']);
  }
}
add('close conditions', 'the middle request of three says close', `${get('/1')}${get('/2', 'Connection: close\r\n')}${get('/3')}`, [200, 200], 'close', ['GET /1', 'GET /2']);
// Bytes that do not parse after a whole request: its response is
// delivered, then the connection closes; no 400 on top of it.
for (const [name, tail] of [
  ['garbage', 'GARBAGE\r\n\r\n'],
  ['a request with a bad field', `GET / HTTP/1.1\r\nHost: ${HOST}\r\nBad Header\r\n\r\n`],
  ['a request with bad framing', post('Content-Length: 1\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
  ['a bad chunk', chunked('zz\r\nhello\r\n0\r\n\r\n')],
  ['an unknown method', `FOO / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
  ['a bare LF request', `GET / HTTP/1.1\nHost: ${HOST}\n\n`],
] as const) {
  add('close conditions', `a request, then ${name}`, `${get('/first')}${tail}`, [200], 'close', ['GET /first']);
  add('close conditions', `two requests, then ${name}`, `${get('/first')}${get('/second')}${tail}`, [200, 200], 'close', ['GET /first', 'GET /second']);
}
// Requests refused after a good one: answered in order, then closed.
for (const [name, tail, status] of [
  ['HTTP/2.0', `GET / HTTP/2.0\r\nHost: ${HOST}\r\n\r\n`, 505],
  ['two Host fields', `GET / HTTP/1.1\r\nHost: ${HOST}\r\nHost: ${HOST}\r\n\r\n`, 400],
  ['no Host', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['gzip, chunked', post('Transfer-Encoding: gzip, chunked\r\n', CHUNKED), 501],
  ['HTTP/1.0 with Transfer-Encoding', `POST / HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
] as const) {
  add('close conditions', `a request, then one with ${name}, then another`, `${get('/first')}${tail}${get('/never')}`, [200, status], 'close', ['GET /first']);
}

// ---- upgrades and CONNECT ----

add('upgrade', 'an Upgrade on a route without websockets: 403', get('/', 'Connection: upgrade\r\nUpgrade: websocket\r\n'), [403], 'close', []);
add('upgrade', 'CONNECT: 404', `CONNECT ${HOST}:443 HTTP/1.1\r\nHost: ${HOST}:443\r\n\r\n`, [404], 'close', []);
add('upgrade', 'a request, then CONNECT: answered in order', `${get('/first')}CONNECT ${HOST}:443 HTTP/1.1\r\nHost: ${HOST}:443\r\n\r\n`, [200, 404], 'close', ['GET /first']);

export const HTTP1_CASES: readonly Http1Case[] = cases;
