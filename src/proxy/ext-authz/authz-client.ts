// The connection to one ExtensionService (an authorization server, or the
// rate limit service, which call it the same way): a gRPC channel per
// endpoint, over h2c or TLS. With validation, TLS trusts only
// the CA bundle and requires a DNS SAN equal to one of the subject names;
// a certificate that fails is a failed connection, never an unverified
// one. The :authority is the SNI when there is one, else Contour's
// "extension.<namespace>.<name>".
import tls from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { dnsSanMatches, dnsSans } from '../upstream-tls.ts';
import { EndpointPicker } from './endpoint-picker.ts';
import { checkMethod, type CheckRequestMsg, type CheckResponseMsg } from './proto.ts';
import type { AuthzEndpoint, AuthzTarget } from './types.ts';

export type UnaryResult<Res> = { ok: true; response: Res } | { ok: false; code: number; message: string };
export type CheckResult = UnaryResult<CheckResponseMsg>;

interface Channel {
  client: grpc.Client;
  active: number;
}

function hostPort(e: AuthzEndpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The name the server sees in :authority and, over TLS, in SNI. */
export function authorityOf(target: AuthzTarget): string {
  return target.tls?.sni || target.name.replaceAll('/', '.');
}

function credentialsOf(target: AuthzTarget): grpc.ChannelCredentials {
  const t = target.tls;
  if (target.protocol === 'h2c' || !t) return grpc.credentials.createInsecure();
  const v = t.validation;
  const context = tls.createSecureContext({
    ...(v ? { ca: v.caPem } : {}),
    ...(t.clientCertPem !== undefined && t.clientKeyPem !== undefined ? { cert: t.clientCertPem, key: t.clientKeyPem } : {}),
    minVersion: t.minVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
    maxVersion: t.maxVersion === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
  });
  if (!v) return grpc.credentials.createFromSecureContext(context, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
  return grpc.credentials.createFromSecureContext(context, {
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => {
      const sans = dnsSans(cert);
      if (dnsSanMatches(sans, v.subjectNames)) return undefined;
      return new Error(`certificate DNS SANs [${sans.join(', ')}] match none of the subject names [${v.subjectNames.join(', ')}]`);
    },
  });
}

export class AuthzClient {
  readonly target: AuthzTarget;
  readonly #credentials: grpc.ChannelCredentials;
  readonly #options: grpc.ChannelOptions;
  readonly #channels = new Map<string, Channel>();
  readonly #picker: EndpointPicker;
  #closed = false;

  constructor(target: AuthzTarget) {
    this.target = target;
    this.#credentials = credentialsOf(target);
    const authority = authorityOf(target);
    this.#options = {
      'grpc.default_authority': authority,
      // Node sends no server name for an IP target and refuses an IP as one:
      // TLS always names the server (its subject name when validating).
      ...(target.protocol === 'h2' ? { 'grpc.ssl_target_name_override': authority } : {}),
      // Envoy's ext_authz sends each Check once.
      'grpc.enable_retries': 0,
      'grpc.service_config_disable_resolution': 1,
      // A restarted server is reachable again within a second.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // Channels of an old config never share connections with a new one.
      'grpc.use_local_subchannel_pool': 1,
    };
    this.#picker = new EndpointPicker(target.services, target.loadBalancer, (e) => this.#channels.get(hostPort(e))?.active ?? 0);
  }

  #channel(e: AuthzEndpoint): Channel {
    const key = hostPort(e);
    let ch = this.#channels.get(key);
    if (!ch) {
      ch = { client: new grpc.Client(key, this.#credentials, this.#options), active: 0 };
      this.#channels.set(key, ch);
    }
    return ch;
  }

  /** One Check; never rejects. */
  check(request: CheckRequestMsg, timeoutMs: number | null): Promise<CheckResult> {
    return this.unary(checkMethod(), request, timeoutMs);
  }

  /** One unary call of method `m` (sent once, no retries); never rejects. */
  unary<Req, Res>(m: grpc.MethodDefinition<Req, Res>, request: Req, timeoutMs: number | null): Promise<UnaryResult<Res>> {
    if (this.#closed) return Promise.resolve({ ok: false, code: grpc.status.UNAVAILABLE, message: 'extension client closed' });
    const e = this.#picker.pick();
    if (!e) return Promise.resolve({ ok: false, code: grpc.status.UNAVAILABLE, message: 'no healthy upstream' });
    const ch = this.#channel(e);
    const options: grpc.CallOptions = timeoutMs === null ? {} : { deadline: Date.now() + Math.max(1, timeoutMs) };
    ch.active++;
    return new Promise<UnaryResult<Res>>((resolve) => {
      ch.client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new grpc.Metadata(), options, (err, res) => {
        ch.active--;
        if (err) resolve({ ok: false, code: err.code ?? grpc.status.UNKNOWN, message: err.details || err.message });
        else if (!res) resolve({ ok: false, code: grpc.status.INTERNAL, message: 'empty response' });
        else resolve({ ok: true, response: res });
      });
    });
  }

  /** Closes every channel; Checks in flight finish. */
  close(): void {
    this.#closed = true;
    for (const ch of this.#channels.values()) ch.client.close();
    this.#channels.clear();
  }
}
