// Problems found while loading manifests. Every one names the file (relative
// to the manifests folder) and, when known, the 1-based line and column, so
// it can be printed as `manifests/app.yaml:12: message`.

export interface LoadIssue {
  file: string;
  line?: number;
  col?: number;
  message: string;
  /** The object concerned, when the problem is about one object. */
  object?: { kind: string; namespace: string; name: string };
}

export function formatIssue(issue: LoadIssue): string {
  let where = issue.file;
  if (issue.line !== undefined) {
    where += `:${issue.line}`;
    if (issue.col !== undefined) where += `:${issue.col}`;
  }
  return `${where}: ${issue.message}`;
}

/** Stable order for printing: by file, then line, then message. */
export function compareIssues(a: LoadIssue, b: LoadIssue): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  const la = a.line ?? 0;
  const lb = b.line ?? 0;
  if (la !== lb) return la - lb;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}
