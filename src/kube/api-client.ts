// A small raw-JSON client for the Kubernetes API: one connection pool per
// client, credentials from the kubeconfig on every request (tokens rotate),
// and errors that say which server, which path and what the status means.
// Raw JSON (not client-node's typed models) keeps large lists cheap and the
// objects in the exact wire shape the converters expect.

import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import type { Dispatcher } from 'undici';

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number; // 0 when the server could not be reached
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, statusCode: number, reason: string, message: string) {
    super(message);
    this.method = method;
    this.path = path;
    this.statusCode = statusCode;
    this.reason = reason;
  }
  /** Same field the client-node informer looks at for 410 Gone. */
  get code(): number {
    return this.statusCode;
  }
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

export interface StreamResponse {
  body: ReadableStream<Uint8Array>;
  abort(): void;
}

export class ApiClient {
  readonly server: string;
  #kc: KubeConfig;
  #dispatcher: Dispatcher | undefined;
  #ready: Promise<void> | undefined;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** One undici Agent for the client's lifetime, built from the kubeconfig's
   *  TLS material (CA, client certificate, server name). */
  #init(): Promise<void> {
    this.#ready ??= (async () => {
      const opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string; headers?: Record<string, string> } = {};
      await this.#kc.applyToHTTPSOptions(opts as never);
      this.#dispatcher = new Agent({
        connections: 64,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: {
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          servername: opts.servername,
          // Verification stays on unless the kubeconfig explicitly says
          // insecure-skip-tls-verify.
          rejectUnauthorized: opts.rejectUnauthorized ?? true,
          minVersion: 'TLSv1.2',
        },
      });
    })();
    return this.#ready;
  }

  async #headers(extra: Record<string, string>): Promise<Record<string, string>> {
    // applyToHTTPSOptions refreshes exec/file tokens, so call it per request.
    const opts: { headers?: Record<string, string> } = {};
    await this.#kc.applyToHTTPSOptions(opts as never);
    const h: Record<string, string> = { 'user-agent': 'isobar', ...extra };
    for (const [k, v] of Object.entries(opts.headers ?? {})) h[k.toLowerCase()] = String(v);
    return h;
  }

  url(path: string, query?: Record<string, string | undefined>): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  /** JSON request; resolves to the decoded body, throws ApiError otherwise. */
  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    await this.#init();
    const headers = await this.#headers({ accept: o.accept ?? 'application/json' });
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] = o.contentType ?? 'application/json';
    }
    let res;
    try {
      res = await fetch(this.url(path, o.query), { method, headers, body, dispatcher: this.#dispatcher, signal: o.signal });
    } catch (err) {
      throw unreachable(method, path, this.server, err);
    }
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) {
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ApiError(method, path, res.status, 'BadResponse', `${method} ${path}: the API server answered ${res.status} with a body that is not JSON`);
      }
    }
    throw statusError(method, path, res.status, text);
  }

  /** A streaming GET (watch). Non-2xx statuses throw ApiError. */
  async stream(path: string, o: RequestOptions = {}): Promise<StreamResponse> {
    await this.#init();
    const headers = await this.#headers({ accept: o.accept ?? 'application/json' });
    const ac = new AbortController();
    if (o.signal) o.signal.addEventListener('abort', () => ac.abort(), { once: true });
    let res;
    try {
      res = await fetch(this.url(path, o.query), { method: 'GET', headers, dispatcher: this.#dispatcher, signal: ac.signal });
    } catch (err) {
      throw unreachable('GET', path, this.server, err);
    }
    if (res.status !== 200 || !res.body) {
      const text = await res.text().catch(() => '');
      throw statusError('GET', path, res.status, text);
    }
    return { body: res.body as ReadableStream<Uint8Array>, abort: () => ac.abort() };
  }

  async close(): Promise<void> {
    const d = this.#dispatcher;
    this.#dispatcher = undefined;
    this.#ready = undefined;
    // destroy, not close: a watch stream would keep close() waiting.
    if (d) await d.destroy().catch(() => undefined);
  }
}

function unreachable(method: string, path: string, server: string, err: unknown): ApiError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'AbortError') return new ApiError(method, path, 0, 'Aborted', `${method} ${path} aborted`);
  const cause = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new ApiError(method, path, 0, 'Unreachable', `cannot reach the Kubernetes API server at ${server} (${cause})`);
}

function statusError(method: string, path: string, code: number, text: string): ApiError {
  let st: KubeStatus = {};
  try {
    st = JSON.parse(text) as KubeStatus;
  } catch {
    // not a Status object: keep the raw text (trimmed) as the message
  }
  const reason = st.reason ?? httpReason(code);
  const message = `${method} ${path}: ${code} ${reason}${st.message ? `: ${st.message}` : text && !st.kind ? `: ${text.slice(0, 200)}` : ''}`;
  return new ApiError(method, path, code, reason, message);
}

function httpReason(code: number): string {
  switch (code) {
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 409: return 'Conflict';
    case 410: return 'Expired';
    case 422: return 'Invalid';
    case 429: return 'TooManyRequests';
    default: return code >= 500 ? 'InternalError' : 'BadRequest';
  }
}
