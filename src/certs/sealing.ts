// Encryption at rest. One master key (32 random bytes in <state>/master.key,
// 0600) yields, through HKDF, an AES-256-GCM key for private keys and an
// HMAC key that authenticates every record file. A private key is sealed
// with a fresh 12-byte IV and its ARN as additional data, so a blob copied
// into another record, or edited, fails to open.

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { CertsError } from './errors.ts';
import { createFileAtomic, readIfExists } from './atomic-file.ts';

export interface SealedBlob {
  alg: 'AES-256-GCM';
  iv: string; // base64, 12 bytes
  tag: string; // base64, 16 bytes
  data: string; // base64
}

export class Sealer {
  readonly #encKey: Buffer;
  readonly #macKey: Buffer;
  constructor(master: Buffer) {
    this.#encKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'isobar certs: private key encryption v1', 32));
    this.#macKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'isobar certs: record authentication v1', 32));
  }

  seal(plain: string, aad: string): SealedBlob {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#encKey, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return { alg: 'AES-256-GCM', iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), data: data.toString('base64') };
  }

  /** Throws CORRUPT naming `file` when the blob was altered or moved. */
  open(blob: SealedBlob, aad: string, file: string): string {
    try {
      if (blob.alg !== 'AES-256-GCM') throw new Error(`unknown algorithm ${String(blob.alg)}`);
      const iv = Buffer.from(blob.iv, 'base64');
      const tag = Buffer.from(blob.tag, 'base64');
      if (iv.length !== 12 || tag.length !== 16) throw new Error('bad IV or tag length');
      const d = createDecipheriv('aes-256-gcm', this.#encKey, iv);
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(tag);
      return Buffer.concat([d.update(Buffer.from(blob.data, 'base64')), d.final()]).toString('utf8');
    } catch (err) {
      throw new CertsError(
        'CORRUPT',
        `${file}: the encrypted private key does not open: the file was modified, its key belongs to another certificate, or master.key is not the one it was written with`,
        { cause: err },
      );
    }
  }

  mac(value: unknown): string {
    return createHmac('sha256', this.#macKey).update(canonicalJson(value)).digest('hex');
  }

  verifyMac(value: unknown, mac: unknown): boolean {
    if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return false;
    return timingSafeEqual(Buffer.from(this.mac(value), 'hex'), Buffer.from(mac, 'hex'));
  }
}

/** JSON with object keys sorted, so the MAC does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const MASTER_KEY_BYTES = 32;

/** Reads the master key; undefined when it does not exist yet. */
export async function readMasterKey(path: string): Promise<Buffer | undefined> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readIfExists(path);
  } catch (err) {
    throw new CertsError('CORRUPT', `${path}: cannot read the master key (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  if (bytes === undefined) return undefined;
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new CertsError(
      'CORRUPT',
      `${path}: the master key is damaged (it must be exactly ${MASTER_KEY_BYTES} bytes, found ${bytes.length}); restore it from a backup (without it the stored private keys cannot be decrypted)`,
    );
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    throw new CertsError('INSECURE', `${path}: the master key is accessible to other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`);
  }
  return bytes;
}

/** Returns the master key, creating it (atomically, 0600) if absent. */
export async function loadOrCreateMasterKey(path: string): Promise<Buffer> {
  const existing = await readMasterKey(path);
  if (existing) return existing;
  await createFileAtomic(path, randomBytes(MASTER_KEY_BYTES));
  const created = await readMasterKey(path);
  if (!created) throw new CertsError('CORRUPT', `${path}: the master key vanished right after it was created`);
  return created;
}
