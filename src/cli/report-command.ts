// Shared by `status`, `check` and `config`: the common flags, building the
// report, printing load problems to stderr, and mapping the typed errors
// (unreadable folder, bad config file) to exit code 2.

import type { Command } from 'commander';
import { CliError, EXIT_USAGE } from './errors.ts';
import { parseNonNegativeInt } from './options.ts';
import { ManifestFolderError } from '../objects/index.ts';
import { ConfigError } from '../config/index.ts';
import { buildReport, type Report } from '../edge/index.ts';
import { renderIssues } from '../status/index.ts';

export interface ReportFlags {
  config?: string;
  stateDir?: string;
  lbAddress?: string;
  lbPortOffset?: number;
}

/** The flags every report command takes; the load balancer ones match
 *  `serve`, so the listener addresses shown are the ones serve binds. */
export function addReportOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'isobar config file (Contour keys: tls.envoy-client-certificate, ...)')
    .option('--state-dir <dir>', 'certificate store (default: $ISOBAR_STATE_DIR or ~/.isobar)')
    .option('--lb-address <addr>', 'as serve: where internet-facing load balancer listeners bind', '127.0.0.1')
    .option('--lb-port-offset <n>', 'as serve: a Service port P listens on P+N', parseNonNegativeInt, 0);
}

export async function reportFor(dir: string, flags: ReportFlags): Promise<Report> {
  let report: Report;
  try {
    // Messages name files as the user can open them: DIR/sub/file.yaml:12
    report = await buildReport(dir, {
      configFile: flags.config,
      stateDir: flags.stateDir,
      lbAddress: flags.lbAddress,
      portOffset: flags.lbPortOffset,
      displayDir: dir.replace(/\/+$/, '') || '/',
    });
  } catch (err) {
    if (err instanceof ManifestFolderError) throw new CliError(err.message, EXIT_USAGE);
    if (err instanceof ConfigError) throw new CliError(`bad config file:\n${err.message}`, EXIT_USAGE);
    throw err;
  }
  const configLines = report.configWarnings.map((w) => `${w.file}${w.line !== undefined ? `:${w.line}` : ''}: warning: ${w.message}\n`).join('');
  const storeLines = report.storeProblems.map((p) => `warning: ${p}\n`).join('');
  const empty = report.load.files.length === 0 ? `warning: ${dir} holds no .yaml, .yml or .json files\n` : '';
  process.stderr.write(configLines + storeLines + empty + renderIssues(report.load.errors, report.load.warnings));
  return report;
}
