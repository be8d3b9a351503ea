// What other parts may use from src/sources/files.
export { FolderSource } from './folder-source.ts';
export type { FolderSourceOptions, FolderSourceEvents, SourceProblem } from './folder-source.ts';
