// Text -> raw documents. YAML files may hold many documents (`---`); JSON
// files hold one. Each raw document keeps the line where it starts and a way
// to find the line of any field path, so later errors can point at it.

import { LineCounter, parseAllDocuments, parseDocument, isMap, isSeq, isNode } from 'yaml';
import type { Document } from 'yaml';
import { load as loadYaml, CORE_SCHEMA } from 'js-yaml';
import { jsonTooDeep, yamlTooDeep } from './nesting.ts';

export interface RawDocument {
  /** The parsed value (null for an empty document). */
  value: unknown;
  /** 1-based line where the document's content starts. */
  line: number;
  /** 1-based line of a field, given its path segments; undefined if unknown. */
  lineOf(path: readonly (string | number)[]): number | undefined;
  /** For a JSON `List`: the line of each element of `items`, found by a
   *  cheap scan so big lists need no second parse. */
  itemLines?: number[];
}

export interface ParseFailure {
  line: number;
  col: number;
  message: string;
}

export interface ParsedText {
  documents: RawDocument[];
  failures: ParseFailure[];
}

/** Parse YAML (possibly multi-document). A document that does not parse is
 *  reported with line and column; the others are still returned.
 *
 *  Plain documents (no anchors, aliases, tags or directives: nearly every
 *  Kubernetes manifest) are read by js-yaml, several times faster; the `yaml`
 *  package reads everything else, every document js-yaml refuses (so its
 *  messages and positions are the ones users see), and finds field lines on
 *  demand. */
export function parseYaml(text: string): ParsedText {
  if (/^%/m.test(text)) {
    const deep = yamlTooDeep(text);
    return deep ? { documents: [], failures: [deep] } : parseYamlFull(text, 0);
  }
  const out: ParsedText = { documents: [], failures: [] };
  for (const chunk of splitDocuments(text)) {
    if (!/\S/.test(chunk.text)) continue;
    // Refused before any parser recurses into it.
    const deep = yamlTooDeep(chunk.text);
    if (deep) {
      out.failures.push({ ...deep, line: deep.line + chunk.startLine - 1 });
      continue;
    }
    let value: unknown;
    let fast = !SPECIAL.test(chunk.text);
    if (fast) {
      try {
        value = loadYaml(chunk.text, { schema: CORE_SCHEMA, json: false });
      } catch {
        fast = false;
      }
    }
    if (!fast) {
      const slow = parseYamlFull(chunk.text, chunk.startLine - 1);
      out.documents.push(...slow.documents);
      out.failures.push(...slow.failures);
      continue;
    }
    if (value === undefined || value === null) continue; // only comments / markers
    out.documents.push({ value, line: contentLine(chunk), lineOf: lazyLineOf(chunk) });
  }
  return out;
}

/** Anchors, aliases, tags, merge keys, explicit and empty keys go the
 *  careful way (alias-bomb limits, exact semantics). Quoted "*" or "&" do
 *  not match. */
const SPECIAL = /(^|[\s,[{:-])[&*!][^\s,[\]{}]|<<|^[\s-]*[?:](\s|$)|[{,]\s*[?:](\s|$)/m;

interface Chunk {
  text: string;
  startLine: number; // 1-based line of the chunk's first line
}

/** Split a stream at document markers (`---`, `...` at column 0). YAML
 *  forbids those at the start of a line inside content, so this is exact. */
export function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const isStart = text.startsWith('---', pos) && (end === pos + 3 || /\s/.test(text[pos + 3]!));
    const isEnd = text.startsWith('...', pos) && (end === pos + 3 || /\s/.test(text[pos + 3]!));
    if (isStart && pos > start) {
      chunks.push({ text: text.slice(start, pos), startLine });
      start = pos;
      startLine = line;
    }
    if (isEnd) {
      chunks.push({ text: text.slice(start, end), startLine });
      start = end + 1;
      startLine = line + 1;
    }
    if (nl === -1) break;
    pos = nl + 1;
    line++;
  }
  if (start < text.length) chunks.push({ text: text.slice(start), startLine });
  return chunks;
}

/** The line where a chunk's content starts (after markers and comments). */
function contentLine(chunk: Chunk): number {
  const lines = chunk.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (i === 0 && /^---(\s|$)/.test(l)) l = l.slice(3);
    const t = l.trim();
    if (t === '' || t.startsWith('#')) continue;
    return chunk.startLine + i;
  }
  return chunk.startLine;
}

function lazyLineOf(chunk: Chunk): RawDocument['lineOf'] {
  let located: { doc: Document; lc: LineCounter } | null | undefined;
  return (p) => {
    if (located === undefined) {
      const lc = new LineCounter();
      try {
        const doc = parseDocument(chunk.text, { lineCounter: lc });
        located = doc.errors.length === 0 ? { doc, lc } : null;
      } catch {
        located = null;
      }
    }
    if (!located) return undefined;
    const rel = nodeLine(located.doc, located.lc, p);
    return rel === undefined ? undefined : rel + chunk.startLine - 1;
  };
}

/** The `yaml` package on the whole text (or one chunk, lines shifted). */
function parseYamlFull(text: string, lineOffset: number): ParsedText {
  const lineCounter = new LineCounter();
  const out: ParsedText = { documents: [], failures: [] };
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    out.failures.push({ line: 1 + lineOffset, col: 1, message: `YAML could not be parsed: ${errorText(err)}` });
    return out;
  }
  if (!Array.isArray(docs)) return out; // an empty stream
  for (const doc of docs) {
    const startOffset = (isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : doc.range?.[0]) ?? 0;
    const start = lineCounter.linePos(startOffset);
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      out.failures.push({ line: pos.line + lineOffset, col: pos.col, message: `invalid YAML: ${firstLine(e.message)}` });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      out.failures.push({ line: start.line + lineOffset, col: start.col, message: `invalid YAML: ${errorText(err)}` });
      continue;
    }
    if (value === null || value === undefined) continue; // empty document
    out.documents.push({
      value,
      line: start.line + lineOffset,
      lineOf: (p) => {
        const l = nodeLine(doc, lineCounter, p);
        return l === undefined ? undefined : l + lineOffset;
      },
    });
  }
  return out;
}

/** Parse a JSON file: JSON.parse is the judge of validity; the YAML parser
 *  (JSON is YAML) is used only to find lines of fields. */
export function parseJson(text: string): ParsedText {
  const deep = jsonTooDeep(text);
  if (deep) return { documents: [], failures: [deep] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const { line, col } = jsonErrorPosition(text, errorText(err));
    return { documents: [], failures: [{ line, col, message: `invalid JSON: ${jsonMessage(errorText(err))}` }] };
  }
  let located: { doc: Document; lc: LineCounter } | undefined;
  const locate = (): { doc: Document; lc: LineCounter } | undefined => {
    if (located) return located;
    const lc = new LineCounter();
    try {
      const doc = parseDocument(text, { lineCounter: lc });
      if (doc.errors.length === 0) located = { doc, lc };
    } catch {
      // positions are a convenience; the value is already parsed
    }
    return located;
  };
  const start = firstContentLine(text);
  return {
    documents: [
      {
        value,
        line: start,
        itemLines: jsonItemLines(text),
        lineOf: (p) => {
          const l = locate();
          return l ? nodeLine(l.doc, l.lc, p) : undefined;
        },
      },
    ],
    failures: [],
  };
}

function nodeLine(doc: Document, lc: LineCounter, path: readonly (string | number)[]): number | undefined {
  // Walk down as far as the path exists; the deepest node found is the best
  // place to point at (a missing field is reported at its parent).
  let node: unknown = doc.contents;
  let best: number | undefined;
  const rangeLine = (n: unknown): number | undefined => {
    if (isNode(n) && n.range) return lc.linePos(n.range[0]).line;
    return undefined;
  };
  best = rangeLine(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => {
        const k = it.key;
        const kv = isNode(k) && 'value' in k ? (k as { value: unknown }).value : k;
        return String(kv) === String(seg);
      });
      if (!pair) break;
      const keyLine = rangeLine(pair.key);
      node = pair.value;
      best = keyLine ?? rangeLine(node) ?? best;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      node = item;
      best = rangeLine(node) ?? best;
    } else {
      break;
    }
  }
  return best;
}

/** Lines where the elements of a top-level `"items": [...]` start. */
export function jsonItemLines(text: string): number[] | undefined {
  let line = 1;
  let depth = 0;
  let inString = false;
  let keyStart = -1;
  let lastKey = '';
  let inItems = false;
  let expectValue = true;
  const lines: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) {
        inString = false;
        if (depth === 1 && keyStart >= 0) lastKey = text.slice(keyStart, i);
      }
      continue;
    }
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    if (inItems && depth === 2 && expectValue && c !== 93) {
      lines.push(line);
      expectValue = false;
    }
    switch (c) {
      case 34: // "
        inString = true;
        keyStart = depth === 1 && !inItems ? i + 1 : -1;
        break;
      case 123: // {
      case 91: // [
        depth++;
        if (c === 91 && depth === 2 && lastKey === 'items') {
          inItems = true;
          expectValue = true;
        }
        break;
      case 125: // }
      case 93: // ]
        depth--;
        if (inItems && depth === 1) return lines;
        break;
      case 44: // ,
        if (inItems && depth === 2) expectValue = true;
        break;
      case 58: // :
        break;
    }
  }
  return undefined;
}

function firstContentLine(text: string): number {
  const m = /\S/.exec(text);
  if (!m) return 1;
  let line = 1;
  for (let i = 0; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function jsonErrorPosition(text: string, message: string): { line: number; col: number } {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), col: Number(lc[2]) };
  const pos = /position (\d+)/.exec(message);
  let offset = pos ? Number(pos[1]) : text.length;
  if (offset > text.length) offset = text.length;
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return { line, col };
}

function jsonMessage(message: string): string {
  // V8 quotes a snippet of the input in the message; the position says more.
  const tok = /^Unexpected token '(.+?)'/.exec(message);
  if (tok) return `unexpected character '${tok[1]}'`;
  if (/Unexpected end of JSON input/.test(message)) return 'unexpected end of input';
  return firstLine(message).replace(/ in JSON at position \d+.*$/, '');
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? s;
  // The YAML parser appends " at line X, column Y:"; the position is printed
  // in front of the message already.
  return line.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
