// What `serve` checks before it forks a worker, so that a mistake the user
// can fix is one clear line and nothing is left running: the manifests
// folder, the certificate store, the certificates Services name, and every
// port it will bind.

import { stat } from 'node:fs/promises';
import { CertificateStore, CertsError } from '../certs/index.ts';
import type { BalancerConfig } from '../edge/index.ts';
import type { ServiceStatus } from '../status/index.ts';
import { StartError } from './errors.ts';
import type { ServeOptions } from './options.ts';
import { bindProblem } from './ports.ts';

const SSL_CERT_ANNOTATION = 'service.beta.kubernetes.io/aws-load-balancer-ssl-cert';

export async function assertDirectory(dir: string): Promise<void> {
  let s;
  try {
    s = await stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StartError(
      'MANIFEST_FOLDER',
      code === 'ENOENT' ? `${dir} does not exist: give the folder that holds your manifests` : `cannot read ${dir}: ${code ?? String(err)}`,
    );
  }
  if (!s.isDirectory()) throw new StartError('MANIFEST_FOLDER', `${dir} is not a directory: give the folder that holds your manifests`);
}

export async function openStore(stateDir: string): Promise<CertificateStore> {
  try {
    return await CertificateStore.open(stateDir, { readOnly: true });
  } catch (err) {
    throw new StartError('CERTIFICATE_STORE', `certificate store ${stateDir}: ${(err as Error).message}`);
  }
}

/** A certificate a Service names in its ssl-cert annotation and the store
 *  does not hold, or cannot read (a damaged master.key or record file, in
 *  the store's words, which name the file): a start-up error (at reload
 *  time only a problem). */
export async function missingCertificate(services: ServiceStatus[], store: CertificateStore, stateDir: string): Promise<StartError | undefined> {
  const known = new Set((await store.list()).map((c) => c.arn));
  for (const s of services) {
    for (const p of s.problems) {
      if (p.severity !== 'error' || p.field !== SSL_CERT_ANNOTATION) continue;
      for (const m of p.message.matchAll(/arn:[^\s"'`,]+/g)) {
        const arn = m[0];
        if (known.has(arn)) continue;
        const unreadable = await readProblem(store, arn);
        if (unreadable) {
          return new StartError(
            'CERTIFICATE_STORE',
            `Service ${s.namespace}/${s.name}: certificate ${arn} (annotation ${SSL_CERT_ANNOTATION}) cannot be read from the certificate store at ${stateDir}: ${unreadable}`,
          );
        }
        return new StartError(
          'MISSING_CERTIFICATE',
          `Service ${s.namespace}/${s.name}: certificate ${arn} (annotation ${SSL_CERT_ANNOTATION}) is not in the certificate store at ${stateDir}; ` +
            `issue it with \`isobar certs request --domain NAME --arn ${arn} --state-dir ${stateDir}\` or bring it with \`isobar certs import --arn ${arn} --cert F --key F\``,
        );
      }
    }
  }
  return undefined;
}

/** Why the store cannot read `arn`, if it is damaged rather than absent. */
async function readProblem(store: CertificateStore, arn: string): Promise<string | undefined> {
  try {
    await store.get(arn);
    return undefined;
  } catch (err) {
    if (err instanceof CertsError) return err.message;
    throw err;
  }
}

/** The first port that cannot be bound, of every port this server will
 *  listen on: the proxy's, each load balancer listener's and the admin's. */
export async function portInUse(
  o: ServeOptions,
  runs: { proxy: boolean; balancer: boolean },
  balancerConfig: BalancerConfig | undefined,
): Promise<StartError | undefined> {
  const ports: { host: string; port: number; what: string }[] = [];
  if (runs.proxy) {
    ports.push({ host: o.proxyAddress, port: o.httpPort, what: 'the proxy HTTP listener (--http-port)' });
    ports.push({ host: o.proxyAddress, port: o.httpsPort, what: 'the proxy HTTPS listener (--https-port)' });
  }
  if (runs.balancer) {
    for (const lb of balancerConfig?.loadBalancers ?? []) {
      for (const l of lb.listeners) {
        ports.push({ host: l.bindAddress, port: l.bindPort, what: `the load balancer listener for Service ${l.id} (--lb-port-offset ${o.lbPortOffset})` });
      }
    }
  }
  ports.push({ host: o.adminAddress, port: o.adminPort, what: 'the admin listener (--admin-port)' });
  for (const p of ports) {
    const problem = await bindProblem(p.host, p.port);
    if (problem) return new StartError('PORT', `port ${p.port} on ${p.host} for ${p.what} ${problem}`);
  }
  return undefined;
}
