// The "node floor" TLS terminator: TLS ended with Node's tls server, then a
// plain TCP connection to the target with an optional PROXY v2 header, bytes
// piped both ways. The least a Node load balancer listener can do.

import net from 'node:net';
import tls from 'node:tls';

export interface TerminatorTarget {
  host: string;
  port: number;
  proxyProtocol: boolean;
}

/** PROXY v2, TCP over IPv4 (the benchmark is on 127.0.0.1). */
function proxyV2(s: net.Socket): Buffer {
  const b = Buffer.alloc(28);
  Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1').copy(b, 0);
  b[12] = 0x21;
  b[13] = 0x11;
  b.writeUInt16BE(12, 14);
  const put = (addr: string | undefined, at: number) => {
    const parts = (addr ?? '0.0.0.0').replace(/^::ffff:/, '').split('.');
    for (let i = 0; i < 4; i++) b[at + i] = Number(parts[i] ?? 0);
  };
  put(s.remoteAddress, 16);
  put(s.localAddress, 20);
  b.writeUInt16BE(s.remotePort ?? 0, 24);
  b.writeUInt16BE(s.localPort ?? 0, 26);
  return b;
}

export function terminate(server: tls.Server, target: TerminatorTarget): void {
  server.on('secureConnection', (client: tls.TLSSocket) => {
    client.setNoDelay(true);
    const up = net.connect({ host: target.host, port: target.port, noDelay: true });
    if (target.proxyProtocol) up.write(proxyV2(client));
    const gone = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', gone);
    up.on('error', gone);
    client.once('close', gone);
    up.once('close', gone);
    client.pipe(up);
    up.pipe(client);
  });
  server.on('tlsClientError', (_err, s) => s.destroy());
}
