// What an ACME certificate is requested with (kept in its record, so
// `serve` can renew it the same way): the CA's directory, the account's
// contact, the key type and the challenge types to try, in order. Checked
// where they enter (CLI flags, the config file), with messages naming them.

import { CertsError } from './errors.ts';

export const KEY_TYPES = ['ec256', 'ec384', 'rsa2048', 'rsa4096'] as const;
export type AcmeKeyType = (typeof KEY_TYPES)[number];

export const CHALLENGE_TYPES = ['http-01', 'tls-alpn-01', 'dns-01'] as const;
export type AcmeChallengeType = (typeof CHALLENGE_TYPES)[number];

export interface AcmeSettings {
  /** The CA's directory URL (https). */
  directory: string;
  email?: string;
  keyType: AcmeKeyType;
  /** Tried in this order for each name; a wildcard needs dns-01. */
  challenges: AcmeChallengeType[];
  /** File of the CA certificates the ACME server's own HTTPS chains to (a private CA), read at each order. */
  caBundle?: string;
}

/** Let's Encrypt's directories, for docs and `--acme letsencrypt-staging`. */
export const KNOWN_DIRECTORIES: Record<string, string> = {
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
};

export const DEFAULT_CHALLENGES: AcmeChallengeType[] = ['http-01', 'tls-alpn-01'];

const EMAIL = /^[^\s@,<>]+@[^\s@,<>]+\.[^\s@,<>]+$/;

export function checkDirectory(value: string, where: string): string {
  const v = KNOWN_DIRECTORIES[value] ?? value;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new CertsError('BAD_INPUT', `${where} ${JSON.stringify(value)} is not a URL (an ACME directory such as ${KNOWN_DIRECTORIES['letsencrypt-staging']}, or letsencrypt-staging / letsencrypt)`);
  }
  if (url.protocol !== 'https:') throw new CertsError('BAD_INPUT', `${where} ${JSON.stringify(value)} must be an https URL (RFC 8555 section 6.1)`);
  return url.toString();
}

export function checkEmail(value: string, where: string): string {
  if (!EMAIL.test(value)) throw new CertsError('BAD_INPUT', `${where} ${JSON.stringify(value)} is not an email address`);
  return value;
}

export function checkKeyType(value: string, where: string): AcmeKeyType {
  if (!(KEY_TYPES as readonly string[]).includes(value)) throw new CertsError('BAD_INPUT', `${where} ${JSON.stringify(value)} is not a key type (use ${KEY_TYPES.join(', ')})`);
  return value as AcmeKeyType;
}

export function checkChallenges(values: readonly string[], where: string): AcmeChallengeType[] {
  if (values.length === 0) throw new CertsError('BAD_INPUT', `${where} is empty (use some of ${CHALLENGE_TYPES.join(', ')})`);
  const out: AcmeChallengeType[] = [];
  for (const v of values) {
    if (!(CHALLENGE_TYPES as readonly string[]).includes(v)) throw new CertsError('BAD_INPUT', `${where}: ${JSON.stringify(v)} is not a challenge type (use ${CHALLENGE_TYPES.join(', ')})`);
    if (!out.includes(v as AcmeChallengeType)) out.push(v as AcmeChallengeType);
  }
  return out;
}

/** A wildcard can only be validated by DNS-01 (RFC 8555 section 7.1.3). */
export function checkWildcards(domains: readonly string[], challenges: readonly AcmeChallengeType[]): void {
  const wild = domains.find((d) => d.startsWith('*.'));
  if (wild && !challenges.includes('dns-01')) throw new CertsError('BAD_INPUT', `${wild} is a wildcard: ACME validates wildcards only by dns-01, which is not among the challenges (${challenges.join(', ')})`);
}

/** What `certs request --acme` and renewal take from flags, else the config file. */
export interface AcmeInputs {
  directory?: string;
  email?: string;
  keyType?: string;
  challenges?: string[];
}

/** Flags over acme.* of the config file; every value checked, naming where it came from. */
export function acmeSettingsFrom(flags: AcmeInputs, config: AcmeInputs, configFile: string | undefined): AcmeSettings {
  const from = (flag: string, key: string, f: unknown) => (f !== undefined ? flag : `acme.${key} in ${configFile ?? 'the config file'}`);
  const dirValue = flags.directory ?? config.directory;
  if (dirValue === undefined) throw new CertsError('BAD_INPUT', '--acme needs a directory URL (for example --acme letsencrypt-staging), or acme.directory in the config file');
  const settings: AcmeSettings = {
    directory: checkDirectory(dirValue, from('--acme', 'directory', flags.directory)),
    keyType: checkKeyType(flags.keyType ?? config.keyType ?? 'ec256', from('--key-type', 'keyType', flags.keyType)),
    challenges: checkChallenges(flags.challenges ?? config.challenges ?? DEFAULT_CHALLENGES, from('--challenge', 'challenges', flags.challenges)),
  };
  const email = flags.email ?? config.email;
  if (email !== undefined) settings.email = checkEmail(email, from('--email', 'email', flags.email));
  return settings;
}
