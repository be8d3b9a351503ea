// The syntax errors of Go's encoding/json (scanner.go), for status messages
// that quote them: Contour reports a local JWKS that is not JSON with the
// text json.Unmarshal returns. Only syntax is checked; null means valid.

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  const code = c.codePointAt(0)!;
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\x07': '\\a', '\\': '\\\\' };
  if (named[c]) return `'${named[c]}'`;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

class End extends Error {}
class Bad extends Error {}

const WS = new Set([' ', '\t', '\n', '\r']);
const DIGIT = /[0-9]/;

export function goJsonSyntaxError(text: string): string | null {
  let i = 0;
  const bad = (context: string): never => {
    throw new Bad(`invalid character ${quoteChar(text[i]!)} ${context}`);
  };
  const peek = (): string => {
    if (i >= text.length) throw new End();
    return text[i]!;
  };
  const skipWs = (): void => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  const literal = (word: string): void => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (peek() !== word[k]) bad(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
    }
    i++;
  };
  const digits = (): void => {
    while (i < text.length && DIGIT.test(text[i]!)) i++;
  };
  const number = (): void => {
    if (text[i] === '-') {
      i++;
      if (!DIGIT.test(peek())) bad('in numeric literal');
    }
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      if (!DIGIT.test(peek())) bad('after decimal point in numeric literal');
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (peek() === '+' || peek() === '-') i++;
      if (!DIGIT.test(peek())) bad('in exponent of numeric literal');
      digits();
    }
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      const c = peek();
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        const e = peek();
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!/[0-9a-fA-F]/.test(peek())) bad('in \\u hexadecimal character escape');
          }
        } else if (!'bfnrt\\/"'.includes(e)) bad('in string escape code');
      } else if (c.charCodeAt(0) < 0x20) bad('in string literal');
      i++;
    }
  };
  const value = (): void => {
    skipWs();
    const c = peek();
    if (c === '{') {
      i++;
      skipWs();
      if (peek() === '}') {
        i++;
        return;
      }
      for (;;) {
        skipWs();
        if (peek() !== '"') bad('looking for beginning of object key string');
        string();
        skipWs();
        if (peek() !== ':') bad('after object key');
        i++;
        value();
        skipWs();
        const n = peek();
        i++;
        if (n === '}') return;
        if (n !== ',') {
          i--;
          bad('after object key:value pair');
        }
      }
    }
    if (c === '[') {
      i++;
      skipWs();
      if (peek() === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        skipWs();
        const n = peek();
        i++;
        if (n === ']') return;
        if (n !== ',') {
          i--;
          bad('after array element');
        }
      }
    }
    if (c === '"') return string();
    if (c === '-' || DIGIT.test(c)) return number();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    bad('looking for beginning of value');
  };
  try {
    value();
    skipWs();
    if (i < text.length) bad('after top-level value');
    return null;
  } catch (e) {
    if (e instanceof End) return 'unexpected end of JSON input';
    if (e instanceof Bad) return e.message;
    throw e;
  }
}
