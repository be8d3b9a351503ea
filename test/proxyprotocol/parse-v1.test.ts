import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeV1, encodeV1Unknown, parseProxyHeader, ProxyProtocolError } from '../../src/proxyprotocol/index.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

function code(fn: () => unknown, what = ''): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProxyProtocolError, `expected ProxyProtocolError, got ${String(err)}`);
    return err.code;
  }
  assert.fail(`expected a ProxyProtocolError ${what}`);
}

test('v1 TCP4 header parses with addresses, ports and exact length', () => {
  const r = parseProxyHeader(b('PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET / HTTP/1.1\r\n'));
  assert.equal(r.kind, 'header');
  assert.ok(r.kind === 'header');
  assert.equal(r.length, 'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n'.length);
  assert.deepEqual(r.header, {
    version: 1,
    command: 'PROXY',
    transport: 'TCP4',
    source: { address: '192.0.2.1', port: 56324 },
    destination: { address: '198.51.100.7', port: 443 },
    tlvs: [],
  });
});

test('v1 TCP6 header parses', () => {
  const r = parseProxyHeader(b('PROXY TCP6 2001:db8::1 ::1 0 65535\r\n'));
  assert.ok(r.kind === 'header');
  assert.equal(r.header.transport, 'TCP6');
  assert.deepEqual(r.header.source, { address: '2001:db8::1', port: 0 });
  assert.deepEqual(r.header.destination, { address: '::1', port: 65535 });
});

test('v1 UNKNOWN ignores the rest of the line', () => {
  for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n']) {
    const r = parseProxyHeader(b(line + 'x'));
    assert.ok(r.kind === 'header');
    assert.equal(r.length, line.length);
    assert.equal(r.header.transport, 'UNKNOWN');
    assert.equal(r.header.source, undefined);
  }
});

test('v1 prefixes are incomplete, not errors', () => {
  const line = 'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n';
  for (let i = 0; i < line.length; i++) {
    assert.deepEqual(parseProxyHeader(b(line.slice(0, i))), { kind: 'incomplete' }, `prefix of ${i} bytes`);
  }
});

test('v1 longest legal line (107 bytes) parses; longer without CRLF is TOO_LONG', () => {
  const longest = 'PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n';
  assert.equal(longest.length, 104);
  assert.ok(parseProxyHeader(b(longest)).kind === 'header');
  assert.equal(code(() => parseProxyHeader(b('PROXY UNKNOWN ' + 'a'.repeat(93)))), 'TOO_LONG');
  // 105 characters + CRLF = 107 bytes is still allowed.
  const r = parseProxyHeader(b('PROXY UNKNOWN ' + 'a'.repeat(91) + '\r\n'));
  assert.ok(r.kind === 'header');
  assert.equal(r.length, 107);
  assert.equal(code(() => parseProxyHeader(b('PROXY UNKNOWN ' + 'a'.repeat(92) + '\r\n'))), 'TOO_LONG');
});

test('v1 malformed lines are rejected with a specific code', () => {
  const cases: Array<[string, string]> = [
    ['PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'INVALID_SIGNATURE'],
    ['proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'INVALID_SIGNATURE'],
    ['GET / HTTP/1.1\r\n', 'INVALID_SIGNATURE'],
    ['PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', 'BAD_FAMILY'],
    ['PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', 'BAD_FAMILY'],
    ['PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'BAD_FAMILY'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n', 'BAD_SYNTAX'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', 'BAD_SYNTAX'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', 'BAD_SYNTAX'],
    ['PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n', 'BAD_SYNTAX'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'BAD_SYNTAX'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', 'BAD_SYNTAX'],
    ['PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n', 'BAD_ADDRESS'],
    ['PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n', 'BAD_ADDRESS'],
    ['PROXY TCP4 ::1 5.6.7.8 1 2\r\n', 'BAD_ADDRESS'],
    ['PROXY TCP6 1.2.3.4 ::1 1 2\r\n', 'BAD_ADDRESS'],
    ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', 'BAD_ADDRESS'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'BAD_PORT'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n', 'BAD_PORT'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', 'BAD_PORT'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n', 'BAD_PORT'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n', 'BAD_PORT'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n', 'BAD_PORT'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u00e9\r\n', 'BAD_SYNTAX'],
  ];
  for (const [line, expected] of cases) {
    assert.equal(code(() => parseProxyHeader(b(line)), JSON.stringify(line)), expected, JSON.stringify(line));
  }
});

test('a wrong first byte is rejected immediately, before a whole line arrives', () => {
  assert.equal(code(() => parseProxyHeader(b('G'))), 'INVALID_SIGNATURE');
  assert.equal(code(() => parseProxyHeader(b('PRX'))), 'INVALID_SIGNATURE');
});

test('encodeV1 produces the specification text, mixing families into TCP6', () => {
  assert.equal(encodeV1({ address: '192.0.2.1', port: 1 }, { address: '192.0.2.2', port: 2 }).toString(), 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n');
  assert.equal(encodeV1({ address: '192.0.2.1', port: 1 }, { address: '::1', port: 2 }).toString(), 'PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n');
  assert.equal(encodeV1({ address: '::ffff:192.0.2.1', port: 1 }, { address: '192.0.2.2', port: 2 }).toString(), 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n');
  assert.equal(encodeV1Unknown().toString(), 'PROXY UNKNOWN\r\n');
  assert.throws(() => encodeV1({ address: 'example.com', port: 1 }, { address: '::1', port: 2 }), TypeError);
  assert.throws(() => encodeV1({ address: '::1', port: 70000 }, { address: '::1', port: 2 }), RangeError);
});
