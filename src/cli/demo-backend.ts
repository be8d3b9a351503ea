// `isobar demo-backend`: a backend that answers with what it saw.

import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.ts';
import { startDemoBackend } from '../demo/index.ts';
import { parsePort } from './options.ts';

export function register(program: Command, _setExitCode: (code: number) => void): void {
  program
    .command('demo-backend')
    .description('run a demo backend that answers every request with what it saw (client address, scheme, SNI, client certificate)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', parsePort, 9443)
    .option('--name <name>', 'name reported in answers', 'demo-backend')
    .option('--tls', 'serve HTTPS (needs --cert and --key)')
    .option('--cert <file>', 'server certificate PEM')
    .option('--key <file>', 'server private key PEM')
    .option('--ca <file>', 'CA bundle PEM that client certificates must chain to')
    .option('--require-client-cert', 'refuse clients without a certificate signed by --ca')
    .action(async (o: { host: string; port: number; name: string; tls?: boolean; cert?: string; key?: string; ca?: string; requireClientCert?: boolean }) => {
      if (!o.tls && (o.cert || o.key || o.ca || o.requireClientCert)) {
        throw new CliError('--cert, --key, --ca and --require-client-cert need --tls');
      }
      if (o.tls && (!o.cert || !o.key)) throw new CliError('--tls needs --cert FILE and --key FILE');
      if (o.requireClientCert && !o.ca) throw new CliError('--require-client-cert needs --ca FILE (the CA client certificates must chain to)');
      const read = async (f: string, what: string): Promise<string> => {
        try {
          return await readFile(f, 'utf8');
        } catch (err) {
          throw new CliError(`cannot read ${what} ${f}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
      };
      const tls = o.tls
        ? {
            certPem: await read(o.cert!, 'certificate'),
            keyPem: await read(o.key!, 'key'),
            caPem: o.ca ? await read(o.ca, 'CA bundle') : undefined,
            requireClientCert: Boolean(o.requireClientCert),
          }
        : undefined;
      let backend;
      try {
        backend = await startDemoBackend({ host: o.host, port: o.port, name: o.name, tls });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw new CliError(`port ${o.port} on ${o.host} is already in use: pick another with --port`);
        throw new CliError(`cannot start the demo backend: ${e.message}`);
      }
      process.stdout.write(`demo-backend "${o.name}" listening on ${tls ? 'https' : 'http'}://${o.host}:${backend.port}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void backend.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
