// What other parts may use from src/objects.
export * from './types.ts';
export { ObjectCache, byNamespaceName } from './cache.ts';
export type { CachedObject, ChangeListener } from './cache.ts';
export type { LoadIssue } from './issues.ts';
export { formatIssue, compareIssues } from './issues.ts';
export {
  loadFolder,
  loadFile,
  loadText,
  combineFiles,
  listManifestFiles,
  isManifestFile,
  ManifestFolderError,
  DEFAULT_MAX_FILE_BYTES,
} from './loader.ts';
export type { FileLoadResult, LoadResult, LoadOptions } from './loader.ts';
export type { FileEntry } from './normalize.ts';
export {
  validateObject,
  SCHEMAS,
  httpProxySchema,
  httpProxySpecSchema,
  tlsCertificateDelegationSchema,
  RETRY_ON,
  extensionServiceSchema,
  extensionServiceSpecSchema,
  serviceSchema,
  secretSchema,
  endpointsSchema,
  endpointSliceSchema,
  ingressSchema,
  ingressClassSchema,
} from './schema.ts';
export { isNotEnforced, isNotImplemented } from './schema.ts';
export type { SchemaResult, JsonSchema, ShapeOf } from './schema.ts';
export { API_VERSIONS, CLUSTER_SCOPED } from './kinds.ts';
