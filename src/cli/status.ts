// `isobar status DIR [-o table|json|yaml]`: what Contour would write on each
// HTTPProxy and what the load balancer controller would write on each
// Service. Exit 1 when something is invalid, 2 when DIR or the config file
// cannot be used.

import { Option } from 'commander';
import type { Command } from 'commander';
import { EXIT_INVALID, EXIT_OK } from './errors.ts';
import { addReportOptions, reportFor } from './report-command.ts';
import type { ReportFlags } from './report-command.ts';
import { findings, hasFindings } from '../edge/index.ts';
import { renderJson, renderTable, renderYaml, OUTPUT_FORMATS } from '../status/index.ts';
import type { OutputFormat } from '../status/index.ts';

interface StatusFlags extends ReportFlags {
  output: OutputFormat;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  const cmd = program
    .command('status')
    .description('print the status of every HTTPProxy and load balancer Service in DIR (exit 1 if any is invalid)')
    .argument('<dir>', 'folder of Kubernetes manifests (.yaml, .yml, .json), read recursively')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]).default('table'));
  addReportOptions(cmd)
    .action(async (dir: string, flags: StatusFlags) => {
      const report = await reportFor(dir, flags);
      const text =
        flags.output === 'json'
          ? renderJson(report.status)
          : flags.output === 'yaml'
            ? renderYaml(report.status)
            : renderTable(report.status, { services: report.snapshot.services });
      process.stdout.write(text);
      setExitCode(hasFindings(findings(report)) ? EXIT_INVALID : EXIT_OK);
    });
}
