// Contour's config file is usually deployed as a ConfigMap whose
// `contour.yaml` key holds the file (examples/contour/01-contour-config.yaml);
// isobar reads such a ConfigMap as the file it carries.

import { isMap, isScalar, Scalar } from 'yaml';
import type { YAMLMap } from 'yaml';

export type ConfigMapContent = { text: string; line: number } | { problem: string; line: number | undefined };

/** The config text a ConfigMap carries, with the line before its first line
 *  (so problems name lines of the outer file); undefined when `root` is not
 *  a ConfigMap. */
export function configMapContent(root: YAMLMap, lineOf: (node: unknown) => number | undefined): ConfigMapContent | undefined {
  if (root.get('kind') !== 'ConfigMap' || root.get('apiVersion') !== 'v1') return undefined;
  const data = root.get('data', true);
  if (!isMap(data)) return { problem: 'a ConfigMap as config file needs data with a contour.yaml key', line: lineOf(data) ?? lineOf(root) };
  const keys = data.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ''));
  const key = keys.includes('contour.yaml') ? 'contour.yaml' : keys.length === 1 ? keys[0]! : undefined;
  if (key === undefined) return { problem: `a ConfigMap as config file needs data with a contour.yaml key (found ${keys.length ? keys.join(', ') : 'none'})`, line: lineOf(data) };
  const value = data.get(key, true);
  if (!isScalar(value) || typeof value.value !== 'string') return { problem: `data.${key}: must be the config file's text`, line: lineOf(value) ?? lineOf(data) };
  // A block scalar's text starts on the line after its indicator (|).
  const start = lineOf(value) ?? 0;
  const block = value.type === Scalar.BLOCK_LITERAL || value.type === Scalar.BLOCK_FOLDED;
  return { text: value.value, line: block ? start : start - 1 };
}
