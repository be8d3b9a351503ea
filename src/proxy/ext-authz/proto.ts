// Envoy's ext_authz gRPC API, loaded from the .proto files beside this one
// (Envoy's package names and field numbers, trimmed to what the API
// carries), with the message shapes proto-loader produces for them:
// field names as in the .proto (keepCase), enums as numbers, absent
// messages as null.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const CHECK_METHOD = '/envoy.service.auth.v3.Authorization/Check';

export interface SocketAddressMsg {
  socket_address: { address: string; port_value: number };
}

export interface PeerMsg {
  address: SocketAddressMsg;
  principal?: string;
  certificate?: string;
}

export interface CheckRequestMsg {
  attributes: {
    source: PeerMsg;
    destination: PeerMsg;
    request: {
      time: { seconds: number; nanos: number };
      http: {
        id: string;
        method: string;
        headers: Record<string, string>;
        path: string;
        host: string;
        scheme: string;
        size: number;
        protocol: string;
        body?: string;
        raw_body?: Buffer;
      };
    };
    context_extensions: Record<string, string>;
  };
}

export interface HeaderValueOptionMsg {
  header: { key: string; value: string; raw_value?: Buffer } | null;
  append?: { value: boolean } | null;
  append_action?: number;
}

export interface DeniedHttpResponseMsg {
  status?: { code: number } | null;
  headers?: HeaderValueOptionMsg[];
  body?: string;
}

export interface OkHttpResponseMsg {
  headers?: HeaderValueOptionMsg[];
  headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOptionMsg[];
  query_parameters_to_set?: { key: string; value: string }[];
  query_parameters_to_remove?: string[];
}

export interface CheckResponseMsg {
  status?: { code: number; message?: string } | null;
  denied_response?: DeniedHttpResponseMsg | null;
  ok_response?: OkHttpResponseMsg | null;
  error_response?: DeniedHttpResponseMsg | null;
  /** Which of the oneof is set (proto-loader's `oneofs`). */
  http_response?: 'denied_response' | 'ok_response' | 'error_response';
}

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

let service: grpc.ServiceDefinition | undefined;

/** A .proto file's package as these message shapes need it (shared with
 *  the rate limit service API). */
export function loadProtoPackage(file: string, includeDirs: string[]): grpc.GrpcObject {
  const def = protoLoader.loadSync(file, { includeDirs, keepCase: true, longs: Number, enums: Number, defaults: true, oneofs: true });
  return grpc.loadPackageDefinition(def);
}

/** The Authorization service definition (method paths and serializers);
 *  loaded once, on first use. */
export function authorizationService(): grpc.ServiceDefinition {
  if (service) return service;
  const pkg = loadProtoPackage('envoy/service/auth/v3/external_auth.proto', [PROTO_DIR]) as unknown as {
    envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
  };
  service = pkg.envoy.service.auth.v3.Authorization.service;
  return service;
}

/** The Check method: path and (de)serializers. */
export function checkMethod(): grpc.MethodDefinition<CheckRequestMsg, CheckResponseMsg> {
  return authorizationService().Check as grpc.MethodDefinition<CheckRequestMsg, CheckResponseMsg>;
}
