// TLS-ALPN-01 (RFC 8737): a validation server that offers only
// "acme-tls/1" gets the challenge certificate for the name it asked for,
// negotiates that protocol, and the connection ends after the handshake
// (section 3: no application data).

import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { ACME_TLS_ALPN } from './acme-challenges.ts';

export function answerTlsAlpn(raw: Socket, context: SecureContext): void {
  const sock = new TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: [ACME_TLS_ALPN] });
  sock.on('error', () => {
    sock.destroy();
    raw.destroy();
  });
  sock.once('secure', () => sock.end());
}
