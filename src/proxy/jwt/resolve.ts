// From the ProxyConfig's providers to what verification runs on: the
// validation CA of a remote JWKS is looked up in the config's CA bundles.
// A bundle that is not there (a config the DAG did not make) leaves the
// provider without keys, so its routes refuse every token: never a fetch
// without the verification it asked for.
import type { JwtProvider } from '../../dag/index.ts';
import type { JwtProviderSpec } from './types.ts';

const NO_KEYS = '{"keys":[]}';

export function resolveProvider(p: JwtProvider, caPemOf: (id: string) => string | undefined): JwtProviderSpec {
  const base = { name: p.name, issuer: p.issuer, audiences: p.audiences, forwardJWT: p.forwardJWT };
  if (p.jwks.kind === 'local') return { ...base, jwks: p.jwks };
  const { validation, ...remote } = p.jwks;
  if (!validation) return { ...base, jwks: remote };
  const caPem = caPemOf(validation.caBundleId);
  if (caPem === undefined || caPem === '') return { ...base, jwks: { kind: 'local', json: NO_KEYS } };
  return { ...base, jwks: { ...remote, validation: { caPem, subjectNames: validation.subjectNames } } };
}
