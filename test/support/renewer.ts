// The certificate renewer as serve wires it, for a store with no ACME
// certificates to validate (no challenges to publish) and a silent log.

import pino from 'pino';
import { defaultConfig } from '../../src/config/index.ts';
import { ControlPlaneMetrics } from '../../src/metrics/index.ts';
import { CertificateRenewer } from '../../src/serve/certificate-renewer.ts';

export function quietRenewer(stateDir: string, isLeader: () => boolean): CertificateRenewer {
  return new CertificateRenewer({
    stateDir,
    config: defaultConfig(),
    setChallenges: async () => {},
    logger: pino({ level: 'silent' }),
    metrics: new ControlPlaneMetrics({ version: 'test' }),
    isLeader,
  });
}
