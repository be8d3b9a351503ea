// What other parts may use from src/status: status as data and its
// rendering. Imports nothing but src/objects.
export type * from './types.ts';
export { renderJson, renderYaml, renderTable, renderIssues, contractReport, problemText, OUTPUT_FORMATS } from './render.ts';
export type { OutputFormat, TableContext } from './render.ts';
