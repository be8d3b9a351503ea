// The path as Contour's Envoy routes and forwards it (normalize_path through
// Chromium's canonicaliser, then merge_slashes): a table of what each rule
// does, then properties over random paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalPath } from '../../src/proxy/path-normalize.ts';

const ROWS: [input: string, out: string | undefined, note: string][] = [
  ['/plain/path', '/plain/path', 'a plain path is returned as it came'],
  ['/a/./b/../c', '/a/c', 'dot segments'],
  ['/../../etc', '/etc', 'never above the root'],
  ['/a/b/..', '/a/', 'a final ".." leaves the slash'],
  ['/a/.', '/a/', 'a final "." leaves the slash'],
  ['/x/%2e%2e/admin', '/admin', 'escaped dots are dots'],
  ['/x/%2E./admin', '/admin', 'in either case, mixed with plain ones'],
  ['/%2E/admin', '/admin', 'an escaped "." segment'],
  ['/%61dmin', '/admin', 'escaped unreserved characters are decoded'],
  ['/%7euser/%5F%2D', '/~user/_-', 'all four unreserved marks'],
  ['/a%2Fb', '/a%2Fb', 'an escaped slash is kept (Envoy keeps it by default)'],
  ['/a%2fb%3F%23', '/a%2fb%3F%23', 'other escapes keep their case'],
  ['/x\\..\\admin', '/admin', 'a backslash is a separator'],
  ['//admin', '/admin', 'merge_slashes'],
  ['/a///b//', '/a/b/', 'every run of slashes'],
  ['/a%00b', undefined, '%00: invalid, 400'],
  ['/a b"<>', '/a%20b%22%3C%3E', 'characters a path may not hold are escaped'],
  ['/caf\u00e9', '/caf%E9', 'bytes above 0x7e are escaped'],
  ['/a%zz/%4', '/a%zz/%4', 'a "%" without two hex digits is kept'],
  ['/...', '/...', 'three dots are a name'],
  ['/.a/b.', '/.a/b.', 'dots inside names'],
  ['*', '*', 'asterisk-form is left alone'],
];

for (const [input, out, note] of ROWS) {
  test(`canonical path: ${note} (${JSON.stringify(input)})`, () => {
    assert.equal(canonicalPath(input), out);
  });
}

test('canonical path: with merge_slashes off (disableMergeSlashes) runs of slashes stay', () => {
  assert.equal(canonicalPath('//admin', false), '//admin');
  assert.equal(canonicalPath('/a//b/%2e%2e', false), '/a//');
});

const pathChar = fc.constantFrom('a', 'B', '/', '/', '.', '..', '%2e', '%2E', '%61', '%2F', '%00', '%', '\\', ' ', '~', '-', '%zz', '\u00e9');
const paths = fc.array(pathChar, { maxLength: 16 }).map((parts) => '/' + parts.join(''));

test('property: the canonical form is a fixed point, starts with "/", has no dot segment, backslash, run of slashes or escaped unreserved character', () => {
  fc.assert(
    fc.property(paths, fc.boolean(), (p, merge) => {
      const out = canonicalPath(p, merge);
      if (out === undefined) {
        assert.ok(/%00/.test(p), 'only %00 is refused');
        return;
      }
      assert.ok(out.startsWith('/'));
      assert.equal(canonicalPath(out, merge), out, 'idempotent');
      assert.ok(!out.includes('\\'));
      assert.ok(!out.split('/').some((s) => s === '.' || s === '..'));
      assert.ok(!/%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DdEe]|5[Ff]|7[Ee])/.test(out), out);
      if (merge) assert.ok(!out.includes('//'));
    }),
    { numRuns: 2000 },
  );
});
