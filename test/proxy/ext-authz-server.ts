// A real envoy.service.auth.v3.Authorization server (grpc-js) on loopback
// for the ext_authz tests: it records every CheckRequest and answers with
// what the test's handler returns.
import * as grpc from '@grpc/grpc-js';
import { authorizationService, type CheckRequestMsg, type CheckResponseMsg } from '../../src/proxy/ext-authz/index.ts';

/** A handler returning HANG never answers (to test timeouts). */
export const HANG = Symbol('hang');
export type AuthzHandler = (req: CheckRequestMsg) => CheckResponseMsg | typeof HANG | Promise<CheckResponseMsg | typeof HANG>;

export interface AuthzServer {
  port: number;
  requests: CheckRequestMsg[];
  /** The :authority each Check arrived with. */
  authorities: string[];
  /** The subject CN of the client certificate each Check came with ('' for none). */
  clientCertificates: string[];
  handler: AuthzHandler;
  close(): Promise<void>;
}

export interface AuthzServerTls {
  certPem: string;
  keyPem: string;
  /** When set, clients must present a certificate signed by this CA. */
  clientCaPem?: string;
}

/** Ends the calls left hanging, then stops the server (forced after 500 ms). */
export function closeGrpcServer(server: grpc.Server, hanging: grpc.sendUnaryData<never>[]): Promise<void> {
  return new Promise<void>((resolve) => {
    for (const cb of hanging) cb({ code: grpc.status.UNAVAILABLE, details: 'server closing' } as grpc.ServiceError);
    server.tryShutdown(() => resolve());
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 500).unref();
  });
}

export const OK: CheckResponseMsg = { status: { code: 0 } };

export async function startAuthzServer(handler: AuthzHandler, opts: { tls?: AuthzServerTls; host?: string } = {}): Promise<AuthzServer> {
  const server = new grpc.Server();
  const hanging: grpc.sendUnaryData<CheckResponseMsg>[] = [];
  const state: AuthzServer = {
    port: 0,
    requests: [],
    authorities: [],
    clientCertificates: [],
    handler,
    close: () => closeGrpcServer(server, hanging),
  };
  server.addService(authorizationService(), {
    Check: (call: grpc.ServerUnaryCall<CheckRequestMsg, CheckResponseMsg>, cb: grpc.sendUnaryData<CheckResponseMsg>) => {
      state.requests.push(call.request);
      state.authorities.push(call.getHost());
      state.clientCertificates.push(String(call.getAuthContext().sslPeerCertificate?.subject?.CN ?? ''));
      Promise.resolve(state.handler(call.request)).then(
        (res) => {
          if (res === HANG) hanging.push(cb);
          else cb(null, res);
        },
        (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message } as grpc.ServiceError),
      );
    },
  });
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(
        opts.tls.clientCaPem ? Buffer.from(opts.tls.clientCaPem) : null,
        [{ private_key: Buffer.from(opts.tls.keyPem), cert_chain: Buffer.from(opts.tls.certPem) }],
        opts.tls.clientCaPem !== undefined,
      )
    : grpc.ServerCredentials.createInsecure();
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host ?? '127.0.0.1'}:0`, creds, (err, port) => (err ? reject(err) : resolve(port))),
  );
  return state;
}
