// How deeply a manifest nests mappings and lists, measured on the text
// before any parser runs: the parsers (and the schema walk after them)
// recurse once per level, so a file nested thousands deep would overflow
// the stack and leave the parser's half-built trees behind. Kubernetes
// manifests nest about 10 levels (CRD schemas about 30); past the limit
// the file is refused with the line where it goes too deep.

/** The deepest nesting a manifest may have. */
export const MAX_NESTING_DEPTH = 100;

export interface TooDeep {
  line: number;
  col: number;
  message: string;
}

function tooDeep(line: number, col: number, limit: number): TooDeep {
  return { line, col, message: `nesting too deep: more than ${limit} levels of mappings and lists (the limit)` };
}

/** JSON: brackets outside strings, exactly. */
export function jsonTooDeep(text: string, limit = MAX_NESTING_DEPTH): TooDeep | null {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
    } else if (c === 34) {
      // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34 || d === 10) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return tooDeep(line, i - lineStart + 1, limit);
    } else if (c === 93 || c === 125) depth--;
  }
  return null;
}

/** YAML: an estimate that never reads a real manifest as deep. Block
 *  nesting is the stack of indentation columns (each "- " and "? " opens a
 *  level of its own, so "- - - x" counts three), plus the depth of flow
 *  collections ([...] and {...}, which may span lines). Comments, quoted
 *  scalars and block scalar bodies (after | or >) are skipped. */
export function yamlTooDeep(text: string, limit = MAX_NESTING_DEPTH): TooDeep | null {
  const columns: number[] = [];
  let flow = 0;
  /** Lines more indented than this belong to a block scalar. */
  let scalarIndent = -1;
  let line = 0;
  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const s = text.slice(pos, end);
    pos = end + 1;
    line++;
    let i = 0;
    while (i < s.length && s.charCodeAt(i) === 32) i++;
    const blank = i === s.length || s[i] === '#' || s[i] === '\r';
    if (scalarIndent >= 0) {
      if (blank || i > scalarIndent) {
        if (nl === -1) break;
        continue;
      }
      scalarIndent = -1;
    }
    if (blank) {
      if (nl === -1) break;
      continue;
    }
    if (flow === 0) {
      if (/^(---|\.\.\.)(\s|$)/.test(s)) {
        columns.length = 0;
        if (nl === -1) break;
        continue;
      }
      while (columns.length > 0 && columns[columns.length - 1]! >= i) columns.pop();
      columns.push(i);
      // Compact nesting on one line: "- - key: value", "? key".
      let j = i;
      while ((s[j] === '-' || s[j] === '?') && (j + 1 === s.length || s[j + 1] === ' ')) {
        j += 2;
        while (s[j] === ' ') j++;
        if (j < s.length && s[j] !== '#') columns.push(j);
      }
      if (columns.length > limit) return tooDeep(line, j + 1, limit);
      const rest = s.slice(j);
      if ((rest.includes('|') || rest.includes('>')) && BLOCK_SCALAR.test(rest)) scalarIndent = i;
      // A flow collection where a value starts: after "key: ", "- " or at the start.
      const m = rest.includes('[') || rest.includes('{') ? FLOW_START.exec(rest) : null;
      if (!m) {
        if (nl === -1) break;
        continue;
      }
      i = j + m[0].length - 1;
    }
    const r = scanFlow(s, i, flow, columns.length, line, limit);
    if (typeof r !== 'number') return r;
    flow = r;
    if (nl === -1) break;
  }
  return null;
}

/** A block scalar header ends the line: "key: |", "- >-", "|2". */
const BLOCK_SCALAR = /(^|[\s:-])[|>][0-9+-]*\s*(#.*)?\r?$/;

/** A plain, single- or double-quoted key and ": ", or nothing, then "[" or "{". */
const FLOW_START = /^(?:(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'"#[{])*?:\s+)?[[{]/;

/** Flow brackets from s[from] on, outside quotes and comments; returns the
 *  flow depth at the end of the line. */
function scanFlow(s: string, from: number, depth: number, block: number, line: number, limit: number): number | TooDeep {
  for (let k = from; k < s.length; k++) {
    const c = s[k];
    if (c === '"' || c === "'") {
      const q = c;
      for (k++; k < s.length; k++) {
        if (q === '"' && s[k] === '\\') k++;
        else if (s[k] === q) {
          if (q === "'" && s[k + 1] === "'") k++;
          else break;
        }
      }
    } else if (c === '#' && (k === 0 || s[k - 1] === ' ')) break;
    else if (c === '[' || c === '{') {
      if (block + ++depth > limit) return tooDeep(line, k + 1, limit);
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return depth;
}
