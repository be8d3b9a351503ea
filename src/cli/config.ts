// `isobar config DIR`: the ProxyConfig built from DIR as JSON (private keys
// redacted), or with `-o balancer` the BalancerConfig (no keys in it: edge
// keys stay in the certificate store).

import { Option } from 'commander';
import type { Command } from 'commander';
import { EXIT_OK } from './errors.ts';
import { addReportOptions, reportFor } from './report-command.ts';
import type { ReportFlags } from './report-command.ts';
import { redactProxyConfig } from '../dag/index.ts';

interface ConfigFlags extends ReportFlags {
  output: 'proxy' | 'balancer';
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  const cmd = program
    .command('config')
    .description('print the proxy configuration built from DIR as JSON (private keys redacted)')
    .argument('<dir>', 'folder of Kubernetes manifests (.yaml, .yml, .json), read recursively')
    .addOption(new Option('-o, --output <what>', 'which configuration').choices(['proxy', 'balancer']).default('proxy'));
  addReportOptions(cmd)
    .action(async (dir: string, flags: ConfigFlags) => {
      const report = await reportFor(dir, flags);
      const value = flags.output === 'balancer' ? redactKeys(report.balancerConfig) : redactKeys(redactProxyConfig(report.proxyConfig));
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      setExitCode(EXIT_OK);
    });
}

/** Belt and braces: any PEM private key anywhere in the output is replaced. */
function redactKeys<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'string' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v) ? '[redacted]' : v,
    ),
  ) as T;
}
