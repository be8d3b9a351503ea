// DNS-01 through RFC 2136: the TXT record _acme-challenge.<name> added to
// and deleted from the zone on its primary server, over TCP, signed with
// TSIG. The server's answer must be NOERROR and signed with the same key.

import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { CertsError } from './errors.ts';
import { checkAnswer, DnsUpdateError, newMessageId, signMessage, TSIG_ALGORITHMS, updateMessage, type TsigAlgorithm, type TsigKey, type TxtChange } from './dns-update.ts';
import type { Dns01Publisher } from './acme-issue.ts';

export interface Rfc2136Settings {
  /** host:port of the zone's primary (port 53 when left out). */
  server: string;
  zone: string;
  key: TsigKey;
  ttl?: number;
  timeoutMs?: number;
}

/** acme.dns of the config file: the secret read from its file (base64, as `keymgr`/`tsig-keygen` print it). */
export async function rfc2136From(c: { server: string; zone: string; tsigKeyName: string; tsigAlgorithm?: string; tsigSecretFile: string }): Promise<Rfc2136Settings> {
  const algorithm = (c.tsigAlgorithm ?? 'hmac-sha256') as TsigAlgorithm;
  if (!Object.hasOwn(TSIG_ALGORITHMS, algorithm)) throw new CertsError('BAD_INPUT', `acme.dns.tsigAlgorithm ${JSON.stringify(c.tsigAlgorithm)} is not supported (use ${Object.keys(TSIG_ALGORITHMS).join(', ')})`);
  let text: string;
  try {
    text = (await readFile(c.tsigSecretFile, 'utf8')).trim();
  } catch (err) {
    throw new CertsError('BAD_INPUT', `acme.dns.tsigSecretFile ${c.tsigSecretFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new CertsError('BAD_INPUT', `acme.dns.tsigSecretFile ${c.tsigSecretFile} does not hold one base64 secret`);
  return { server: c.server, zone: c.zone, key: { name: c.tsigKeyName, algorithm, secret: Buffer.from(text, 'base64') } };
}

export class Rfc2136Publisher implements Dns01Publisher {
  readonly #s: Rfc2136Settings;
  constructor(s: Rfc2136Settings) {
    this.#s = s;
  }

  setTxt(name: string, value: string): Promise<void> {
    return this.#send({ zone: this.#s.zone, name, value, ttl: this.#s.ttl ?? 60, op: 'add' });
  }

  removeTxt(name: string, value: string): Promise<void> {
    return this.#send({ zone: this.#s.zone, name, value, ttl: 0, op: 'delete' });
  }

  async #send(change: TxtChange): Promise<void> {
    const id = newMessageId();
    const { signed, mac } = signMessage(updateMessage(change, id), this.#s.key);
    const { host, port } = splitServer(this.#s.server);
    let answer: Buffer;
    try {
      answer = await exchangeTcp(host, port, signed, this.#s.timeoutMs ?? 10_000);
    } catch (err) {
      throw new DnsUpdateError(`DNS update of ${change.name} at ${this.#s.server}: ${(err as Error).message}`);
    }
    try {
      checkAnswer(answer, id, this.#s.key, mac);
    } catch (err) {
      throw new DnsUpdateError(`DNS update of ${change.name} at ${this.#s.server}: ${(err as Error).message}`);
    }
  }
}

function splitServer(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new DnsUpdateError(`acme.dns.server ${JSON.stringify(s)} is not host[:port]`);
  const port = m[2] ? Number(m[2]) : 53;
  if (!(port >= 1 && port <= 65535)) throw new DnsUpdateError(`acme.dns.server ${JSON.stringify(s)} has a bad port`);
  return { host: m[1]!, port };
}

/** One DNS message over TCP (two-byte length prefix, RFC 1035 section 4.2.2). */
function exchangeTcp(host: string, port: number, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let acc: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => s.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(message.length);
      s.write(Buffer.concat([len, message]));
    });
    s.on('data', (d: Buffer) => {
      acc = Buffer.concat([acc, d]);
      if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        clearTimeout(timer);
        s.destroy();
        resolve(acc.subarray(2, 2 + acc.readUInt16BE(0)));
      }
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code ?? err.message));
    });
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error('the server closed the connection without an answer'));
    });
  });
}
