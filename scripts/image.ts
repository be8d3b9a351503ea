// `npm run image`: builds isobar's container image with podman or docker,
// whichever is installed, and tags it localhost/isobar:VERSION (the name
// deploy/*.yaml use).
//
//   npm run image                          base: the official Node image (Containerfile default)
//   npm run image -- --base IMAGE          any base with node and npm in /usr/local/bin
//   npm run image -- --local-base          assemble the base here first (debootstrap, root)
//   npm run image -- --tag REGISTRY/isobar:0.1.0
//   npm run image -- --ca-file CA.pem      npm's registry behind a TLS-inspecting proxy
//                                          (default: $NODE_EXTRA_CA_CERTS)
//
// podman without a usable OCI runtime (no cgroup v2, nested sandboxes):
// BUILDAH_ISOLATION=chroot npm run image ...

import { parseArgs } from 'node:util';
import { buildImage, defaultTag, findEngine, inspectImage } from './image-lib.ts';
import { buildLocalBase, DEFAULT_MIRROR, DEFAULT_SUITE } from './image-base.ts';

const USAGE = `usage: npm run image -- [--local-base [--suite ${DEFAULT_SUITE}] [--mirror URL] [--rebuild-base] | --base IMAGE] [--tag NAME] [--engine podman|docker] [--ca-file PEM]`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'local-base': { type: 'boolean' },
        base: { type: 'string' },
        suite: { type: 'string' },
        mirror: { type: 'string' },
        'rebuild-base': { type: 'boolean' },
        tag: { type: 'string' },
        engine: { type: 'string' },
        'ca-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values['local-base'] === true && values.base !== undefined) {
    process.stderr.write(`--local-base and --base exclude each other\n${USAGE}\n`);
    return 2;
  }
  if (values['local-base'] !== true && (values.suite ?? values.mirror ?? values['rebuild-base']) !== undefined) {
    process.stderr.write(`--suite, --mirror and --rebuild-base go with --local-base\n${USAGE}\n`);
    return 2;
  }
  const engine = findEngine(values.engine);
  let base = values.base;
  if (values['local-base'] === true) {
    base = await buildLocalBase({ engine, suite: values.suite, mirror: values.mirror ?? DEFAULT_MIRROR, rebuild: values['rebuild-base'] });
    process.stderr.write(`image: base ${base}\n`);
  }
  const tag = values.tag ?? defaultTag();
  await buildImage({ engine, tag, base, caFile: values['ca-file'] });
  const { size } = await inspectImage(engine, tag);
  process.stdout.write(`${tag} (${(size / 1e6).toFixed(1)} MB, ${engine})\n`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    process.stderr.write(`image: ${err.message}\n`);
    process.exitCode = 1;
  },
);
