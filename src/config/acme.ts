// acme.*: the ACME CA `certs request --acme` and managed renewal use when a
// flag does not say otherwise. Only shapes are checked here (strings,
// lists, the binding's two keys); the certificate manager checks the
// values (https directory, known key and challenge types) where it uses
// them, with the key's name in the message.

export interface AcmeConfig {
  directory?: string;
  email?: string;
  keyType?: string;
  challenges?: string[];
  /** File of PEM CA certificates the ACME server's own TLS chains to (a private CA). */
  caBundle?: string;
  /** RFC 8555 section 7.3.4; the HMAC key is base64url, as CAs hand it out. */
  externalAccountBinding?: { keyId: string; hmacKey: string };
  /** DNS-01 through RFC 2136: the zone's primary server and its TSIG key. */
  dns?: AcmeDnsConfig;
}

export interface AcmeDnsConfig {
  server: string;
  zone: string;
  tsigKeyName: string;
  tsigAlgorithm?: string;
  /** File holding the base64 TSIG secret (never the config file itself). */
  tsigSecretFile: string;
}

const DNS_KEYS = ['server', 'zone', 'tsigKeyName', 'tsigAlgorithm', 'tsigSecretFile'];

export function acmeDns(v: unknown, fail: Fail): AcmeDnsConfig | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail(`must be a mapping (${DNS_KEYS.join(', ')})`);
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !DNS_KEYS.includes(k));
  if (unknown.length > 0) {
    fail(`unknown key "${unknown[0]}": allowed are ${DNS_KEYS.join(', ')}`);
    return undefined;
  }
  const missing = ['server', 'zone', 'tsigKeyName', 'tsigSecretFile'].filter((k) => typeof o[k] !== 'string' || o[k] === '');
  if (missing.length > 0) {
    fail(`needs ${missing.join(', ')} as non-empty strings`);
    return undefined;
  }
  if (o.tsigAlgorithm !== undefined && typeof o.tsigAlgorithm !== 'string') {
    fail('tsigAlgorithm must be a string such as hmac-sha256');
    return undefined;
  }
  const d: AcmeDnsConfig = { server: o.server as string, zone: o.zone as string, tsigKeyName: o.tsigKeyName as string, tsigSecretFile: o.tsigSecretFile as string };
  if (typeof o.tsigAlgorithm === 'string') d.tsigAlgorithm = o.tsigAlgorithm;
  return d;
}

type Fail = (message: string) => void;

export function acmeString(v: unknown, fail: Fail): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') {
    fail(`must be a non-empty string, found ${JSON.stringify(v)}`);
    return undefined;
  }
  return v.trim();
}

export function acmeBinding(v: unknown, fail: Fail): AcmeConfig['externalAccountBinding'] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail('must be a mapping with keyId and hmacKey');
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'keyId' && k !== 'hmacKey');
  if (unknown.length > 0) {
    fail(`unknown key "${unknown[0]}": allowed are keyId, hmacKey`);
    return undefined;
  }
  if (typeof o.keyId !== 'string' || o.keyId === '' || typeof o.hmacKey !== 'string' || o.hmacKey === '') {
    fail('needs both keyId and hmacKey as non-empty strings');
    return undefined;
  }
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(o.hmacKey)) {
    fail('hmacKey must be base64url (as the CA gave it)');
    return undefined;
  }
  return { keyId: o.keyId, hmacKey: o.hmacKey };
}
