// `isobar explain DIR --host H --path P`: what the edge would do with that
// request and why (listener, TLS choice, virtual host, routes passed over
// and the one that matched, filters, cluster choice or local reply). From
// manifests, or with --admin URL from a running serve's configs. Exit 0
// with an answer (a 404 explained is an answer), 2 for bad usage.
import { isIP } from 'node:net';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { BalancerConfig, ProxyConfig } from '../edge/index.ts';
import type { HTTPProxyStatus, StatusReport } from '../status/index.ts';
import { CliError, EXIT_OK, EXIT_USAGE } from './errors.ts';
import { parsePort } from './options.ts';
import { addReportOptions, reportFor, type ReportFlags } from './report-command.ts';
import { explainRequest, ExplainUsageError, type ExplainInput, type ProxyListenerInfo } from './explain-request.ts';
import { renderExplanation } from './explain-render.ts';

interface ExplainFlags extends ReportFlags {
  host: string;
  path: string;
  header: [string, string][];
  method: string;
  clientIp: string;
  sni?: string;
  port?: number;
  listener?: string;
  httpPort: number;
  httpsPort: number;
  output: 'text' | 'json';
  admin?: string;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  const cmd = program
    .command('explain')
    .description('say what the edge would do with one request, and why (routes passed over, filters, cluster or local reply)')
    .argument('[dir]', 'folder of Kubernetes manifests (or --admin URL of a running serve)')
    .requiredOption('--host <host>', 'Host header (or :authority), as the client sends it')
    .option('--path <path>', 'request path, with an optional ?query', parsePath, '/')
    .option('--header <k=v>', 'a request header (repeatable)', parseHeader, [] as [string, string][])
    .option('--method <method>', 'request method', parseMethod, 'GET')
    .option('--client-ip <ip>', 'the client address', parseIp, '127.0.0.1')
    .option('--sni <name>', 'TLS SNI: the request arrives on the HTTPS listener (default there: the host)')
    .option('--port <port>', "the port the client connects to: a load balancer listener's or the proxy's", parsePort)
    .option('--listener <name>', 'without --port: the proxy listener: http, https or a Gateway port listener (http-81, tcp-5000)')
    .option('--http-port <port>', 'as serve: the proxy HTTP listener (without --admin)', parsePort, 8080)
    .option('--https-port <port>', 'as serve: the proxy HTTPS listener (without --admin)', parsePort, 8443)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--admin <url>', 'ask a running serve (its admin address, e.g. http://127.0.0.1:8000) instead of reading DIR');
  addReportOptions(cmd).action(async (dir: string | undefined, flags: ExplainFlags) => {
    if (dir !== undefined && flags.admin !== undefined) throw new CliError('give either DIR or --admin, not both', EXIT_USAGE);
    if (dir === undefined && flags.admin === undefined) throw new CliError('give the manifests folder DIR, or --admin URL of a running serve', EXIT_USAGE);
    const input = flags.admin !== undefined ? await fromAdmin(flags.admin) : await fromDir(dir!, flags);
    let explanation;
    try {
      explanation = explainRequest(input, {
        host: flags.host,
        path: flags.path,
        method: flags.method,
        headers: flags.header,
        clientIp: flags.clientIp,
        ...(flags.sni !== undefined ? { sni: flags.sni } : {}),
        ...(flags.port !== undefined ? { port: flags.port } : {}),
        ...(flags.listener !== undefined ? { listener: flags.listener } : {}),
      });
    } catch (err) {
      if (err instanceof ExplainUsageError) throw new CliError(err.message, EXIT_USAGE);
      throw err;
    }
    process.stdout.write(flags.output === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : renderExplanation(explanation));
    setExitCode(EXIT_OK);
  });
}

async function fromDir(dir: string, flags: ExplainFlags): Promise<ExplainInput> {
  const report = await reportFor(dir, flags);
  return {
    proxyConfig: report.proxyConfig,
    balancerConfig: report.balancerConfig,
    httpproxies: report.status.httpproxies,
    mergeSlashes: !report.config.disableMergeSlashes,
    proxyListeners: [
      { name: 'http', port: flags.httpPort, tls: false, proxyProtocol: false },
      { name: 'https', port: flags.httpsPort, tls: true, proxyProtocol: false },
      // Gateway listener ports of their own, where serve binds them.
      ...(report.proxyConfig.listeners ?? []).map((l) => ({ name: l.name, port: l.bindPort, tls: l.protocol === 'https', proxyProtocol: false })),
    ],
  };
}

interface AdminConfig {
  proxyConfig: ProxyConfig | null;
  balancerConfig: BalancerConfig | null;
  proxyListeners: ProxyListenerInfo[];
}

/** The configs a running serve's workers run (/api/config, redacted) and its statuses (/status). */
async function fromAdmin(url: string): Promise<ExplainInput> {
  let base: URL;
  try {
    base = new URL(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`);
  } catch {
    throw new CliError(`--admin ${JSON.stringify(url)} is not a URL (example: http://127.0.0.1:8000)`, EXIT_USAGE);
  }
  const get = async <T>(path: string): Promise<T> => {
    const at = new URL(path, base);
    let res: Response;
    try {
      res = await fetch(at, { signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new CliError(`cannot reach the admin server at ${base.origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, EXIT_USAGE);
    }
    if (!res.ok) throw new CliError(`${at.href} answered ${res.status}: is this isobar serve's admin address (--admin-port)?`, EXIT_USAGE);
    return (await res.json()) as T;
  };
  const [config, status] = await Promise.all([get<AdminConfig>('/api/config'), get<StatusReport>('/status')]);
  if (!config.proxyConfig) throw new CliError(`the serve at ${base.origin} has built no configuration yet`, EXIT_USAGE);
  return {
    proxyConfig: config.proxyConfig,
    ...(config.balancerConfig ? { balancerConfig: config.balancerConfig } : {}),
    httpproxies: status.httpproxies as HTTPProxyStatus[],
    proxyListeners: config.proxyListeners,
  };
}

function parseHeader(value: string, acc: [string, string][]): [string, string][] {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*[=:]\s?(.*)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not a header (use NAME=VALUE, e.g. x-env=prod)`);
  return [...acc, [m[1]!, m[2]!]];
}

function parsePath(value: string): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError(`"${value}" is not a path (start with "/")`);
  return value;
}

function parseMethod(value: string): string {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an HTTP method`);
  return value.toUpperCase();
}

function parseIp(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`"${value}" is not an IP address`);
  return value;
}
