// The checks both HTTP/1.1 head writers make of the fields they write:
// isToken() and isFieldValue() agree with the patterns they replace, and
// one counted-lines test of a head accepts it exactly when every value
// (and the reason phrase) is clean, whatever a value smuggles in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fieldLines, INVALID_FIELD_VALUE, isFieldValue, isToken, MAX_COUNTED_LINES, TOKEN } from '../../src/proxy/field-syntax.ts';

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const anyChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TCHAR) },
  { weight: 3, arbitrary: fc.constantFrom(' ', ':', '\t', '"', '(', '@', '\u00e9', '\u00ff') },
  { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\u0000', '\u007f', '\u0100', '\u2028', '\ud83d') },
);
const text = (maxLength: number) => fc.array(anyChar, { maxLength }).map((cs) => cs.join(''));
const token = fc.array(fc.constantFrom(...TCHAR), { minLength: 1, maxLength: 12 }).map((cs) => cs.join(''));
/** Values built to hold what a smuggler sends: whole lines, bare CR or LF. */
const value = fc.oneof(text(16), fc.tuple(text(4), token, text(4)).map(([a, n, b]) => `${a}\r\n${n}: ${b}`), fc.constantFrom('', 'a\r', '\nb', 'x\r\n', '\r\n\r\n'));

test('isToken and isFieldValue agree with TOKEN and INVALID_FIELD_VALUE', () => {
  fc.assert(
    fc.property(text(20), (s) => {
      assert.equal(isToken(s), TOKEN.test(s), JSON.stringify(s));
      assert.equal(isFieldValue(s), !INVALID_FIELD_VALUE.test(s), JSON.stringify(s));
    }),
    { numRuns: 5000 },
  );
});

test('n field lines with token names match fieldLines(n) exactly when every value is clean', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(token, value), { maxLength: 12 }), (fields) => {
      const head = fields.map(([n, v]) => `${n}: ${v}\r\n`).join('');
      const clean = fields.every(([, v]) => isFieldValue(v));
      assert.equal(fieldLines(fields.length)!.test(head), clean, JSON.stringify(fields));
    }),
    { numRuns: 5000 },
  );
});

test("after a status line: its reason phrase is held to the value class too", () => {
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 999 }), value, fc.array(fc.tuple(token, value), { maxLength: 6 }), (status, reason, fields) => {
      const head = `HTTP/1.1 ${status} ${reason}\r\n` + fields.map(([n, v]) => `${n}: ${v}\r\n`).join('');
      const clean = isFieldValue(reason) && fields.every(([, v]) => isFieldValue(v));
      assert.equal(fieldLines(fields.length, 'status')!.test(head), clean, JSON.stringify([reason, fields]));
    }),
    { numRuns: 3000 },
  );
});

test('the count is exact: one line more or fewer does not match; above the cap there is no pattern', () => {
  const head = 'a: 1\r\nb: 2\r\n';
  assert.equal(fieldLines(2)!.test(head), true);
  assert.equal(fieldLines(1)!.test(head), false);
  assert.equal(fieldLines(3)!.test(head), false);
  assert.equal(fieldLines(0)!.test(''), true);
  assert.equal(fieldLines(2)!.test(`${head}\r\n`), false, 'an empty line is not a field line');
  assert.equal(fieldLines(1)!.test('a:1\r\n'), false, 'the writers put one space after the colon');
  assert.equal(fieldLines(MAX_COUNTED_LINES) instanceof RegExp, true);
  assert.equal(fieldLines(MAX_COUNTED_LINES + 1), undefined);
  assert.equal(fieldLines(2), fieldLines(2), 'compiled once');
});
