// What other parts may use from src/status.
export type * from './types.ts';
export { renderJson, renderYaml, renderTable, renderIssues, contractReport, problemText, OUTPUT_FORMATS } from './render.ts';
export type { OutputFormat, TableContext } from './render.ts';
export { buildReport, statusReport, findings, hasFindings } from './report.ts';
export type { Report, ReportOptions, Findings } from './report.ts';
