// The web page's files (src/admin/page/): plain ES modules, CSS and one
// HTML file, served as they are, with no build step and nothing fetched
// from elsewhere. Only names of that folder's shape are served, so no
// request can reach another file.
import { readFile } from 'node:fs/promises';

const PAGE_DIR = new URL('./page/', import.meta.url);
const NAME = /^[a-z0-9][a-z0-9-]*\.(js|css|html|svg)$/;
const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The page may run its own scripts and styles and talk to this server, nothing else. */
export const PAGE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface PageFile {
  body: Buffer;
  type: string;
}

/** `name` is a file of the page folder ("index.html", "app.js"); undefined when there is none. */
export async function pageFile(name: string): Promise<PageFile | undefined> {
  const m = NAME.exec(name);
  if (!m) return undefined;
  try {
    return { body: await readFile(new URL(name, PAGE_DIR)), type: TYPES[m[1]!]! };
  } catch {
    return undefined;
  }
}
