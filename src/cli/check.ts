// `isobar check DIR`: lists what is wrong (load errors, invalid or orphaned
// HTTPProxies, Service errors) and exits 1 if anything is; 0 otherwise.

import type { Command } from 'commander';
import { EXIT_INVALID, EXIT_OK } from './errors.ts';
import { addReportOptions, reportFor } from './report-command.ts';
import type { ReportFlags } from './report-command.ts';
import { findings, hasFindings } from '../edge/index.ts';
import { problemText } from '../status/index.ts';

export function register(program: Command, setExitCode: (code: number) => void): void {
  const cmd = program
    .command('check')
    .description('check the manifests in DIR; exit 1 if any object is invalid or orphaned, or any file has errors')
    .argument('<dir>', 'folder of Kubernetes manifests (.yaml, .yml, .json), read recursively');
  addReportOptions(cmd)
    .action(async (dir: string, flags: ReportFlags) => {
      const report = await reportFor(dir, flags);
      const f = findings(report);
      const lines: string[] = [];
      for (const p of f.invalid) lines.push(`HTTPProxy ${p.namespace}/${p.name}: invalid: ${p.description}`);
      for (const p of f.orphaned) lines.push(`HTTPProxy ${p.namespace}/${p.name}: orphaned: ${p.description}`);
      for (const e of f.invalidExtensions) lines.push(`ExtensionService ${e.namespace}/${e.name}: invalid: ${e.conditions[0]?.errors?.[0]?.message ?? ''}`);
      for (const s of f.serviceErrors) lines.push(`Service ${s.namespace}/${s.name}: ${s.message}`);
      for (const i of f.ingressErrors) lines.push(`Ingress ${i.namespace}/${i.name}: ${i.message}`);
      for (const g of f.gatewayErrors) lines.push(`${g.kind} ${g.namespace === '' ? '' : `${g.namespace}/`}${g.name}: ${g.message}`);
      const warnings = report.status.services.flatMap((s) =>
        s.problems.filter((p) => p.severity === 'warning').map((p) => `Service ${s.namespace}/${s.name}: warning: ${problemText(p, s)}`),
      );
      lines.push(...warnings);
      const total = report.status.httpproxies.length;
      const bad = f.invalid.length + f.orphaned.length;
      lines.push(
        hasFindings(f)
          ? `check failed: ${bad} of ${total} HTTPProxies invalid or orphaned, ${f.serviceErrors.length} Service error(s), ${f.invalidExtensions.length > 0 ? `${f.invalidExtensions.length} ExtensionService error(s), ` : ''}${f.ingressErrors.length > 0 ? `${f.ingressErrors.length} Ingress error(s), ` : ''}${f.gatewayErrors.length > 0 ? `${f.gatewayErrors.length} Gateway API error(s), ` : ''}${f.loadErrors} load error(s)`
          : `ok: ${total} HTTPProxies valid, ${report.status.services.length} load balancer Service(s) without errors, ${report.load.objects.length} objects loaded`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
      setExitCode(hasFindings(f) ? EXIT_INVALID : EXIT_OK);
    });
}
