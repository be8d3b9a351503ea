// External authorization (Envoy's ext_authz filter over the
// envoy.service.auth.v3.Authorization gRPC API): what the request path and
// the runtime use.
export { AuthzClient, authorityOf, type CheckResult, type UnaryResult } from './authz-client.ts';
export { AuthzClientRegistry } from './client-registry.ts';
export { authorize, newAuthzStats, type AuthzStats } from './authorize.ts';
export { collectBody, type CollectedBody } from './body-buffer.ts';
export { buildCheckRequest, PARTIAL_BODY_HEADER } from './check-request.ts';
export { decideFailure, decideResponse, STATUS_ON_ERROR } from './decision.ts';
export { mutateHeaderList, mutateHeaderObject, mutateQuery, mutateRequestHeaders } from './mutations.ts';
export { ExtAuthzFeature } from './feature.ts';
export { resolveTarget, type ExtensionClusterConfig } from './resolve-target.ts';
export { authorizationService, loadProtoPackage, CHECK_METHOD, type CheckRequestMsg, type CheckResponseMsg } from './proto.ts';
export type * from './types.ts';
