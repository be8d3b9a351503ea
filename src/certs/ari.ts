// ACME Renewal Information (RFC 9773): the CA's suggested renewal window
// for a certificate, read from the directory's renewalInfo resource when
// the CA offers one. The certificate is named by its CertID: the
// base64url of its authority key identifier, a dot, the base64url of its
// serial number's DER bytes (section 4.1).

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export function ariCertId(certPem: string): string | undefined {
  const cert = new x509.X509Certificate(certPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) return undefined;
  // The serial's DER content octets: two's complement, so a leading 0x00 when the top bit is set.
  let serial = cert.serialNumber.replace(/^(00)+(?=.)/, '');
  if (serial.length % 2 === 1) serial = `0${serial}`;
  if (parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`;
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`;
}

export interface RenewalWindow {
  start: number;
  end: number;
  explanationURL?: string;
}

/** The window the CA suggests, or undefined when it offers no renewalInfo.
 *  Throws with a one-line message on a malformed answer. */
export async function fetchRenewalWindow(directoryUrl: string, certPem: string, caBundle?: string): Promise<RenewalWindow | undefined> {
  const certId = ariCertId(certPem);
  if (!certId) return undefined;
  // undici is loaded here, not with the module: the store's processes (the
  // balancer workers too) import this and never ask a CA for a window.
  const { Agent, fetch } = await import('undici');
  const dispatcher = new Agent({ connect: caBundle ? { ca: caBundle } : {}, connections: 1 });
  try {
    const getJson = async (url: string): Promise<unknown> => {
      const res = await fetch(url, { dispatcher, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`${url} answered ${res.status}`);
      return res.json();
    };
    const dir = await getJson(directoryUrl);
    const base = typeof dir === 'object' && dir !== null ? (dir as Record<string, unknown>).renewalInfo : undefined;
    if (typeof base !== 'string') return undefined;
    return parseRenewalInfo(await getJson(`${base.replace(/\/$/, '')}/${certId}`));
  } finally {
    await dispatcher.close();
  }
}

export function parseRenewalInfo(body: unknown): RenewalWindow {
  const w = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).suggestedWindow : undefined;
  const o = typeof w === 'object' && w !== null ? (w as Record<string, unknown>) : undefined;
  const start = typeof o?.start === 'string' ? Date.parse(o.start) : NaN;
  const end = typeof o?.end === 'string' ? Date.parse(o.end) : NaN;
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) throw new Error('renewalInfo: suggestedWindow needs start and end times, start before end (RFC 9773 section 4.2)');
  const explanation = (body as Record<string, unknown>).explanationURL;
  return { start, end, ...(typeof explanation === 'string' ? { explanationURL: explanation } : {}) };
}

/** A uniformly random time in the window (RFC 9773 section 4.2), not in the past. */
export function chooseRenewalTime(w: RenewalWindow, now: number, random: () => number = Math.random): number {
  return Math.max(now, w.start + Math.floor(random() * (w.end - w.start)));
}
