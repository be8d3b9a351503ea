// The client address of one request, as Envoy's HTTP connection manager
// computes it with use_remote_address and xff_num_trusted_hops (Contour's
// network.num-trusted-hops): with N trusted hops, the Nth address from the
// right of the X-Forwarded-For the request arrived with; too few entries or
// one that is not an IP address leave the connection's client (the PROXY
// header's source, else the peer). X-Forwarded-For is still appended the
// connection's client. Everything that reads the client address (Remote IP
// filters, rate limit remote_address, ext_authz, X-Envoy-External-Address,
// the access log) reads this one.
import { isIP } from 'node:net';
import { connOf, hostPort, type ConnInfo, type DownstreamRequest } from './conn-info.ts';

export function trustedClient(conn: ConnInfo, xff: string | string[] | undefined, hops: number): ConnInfo {
  if (hops === 0 || xff === undefined) return conn;
  const list = (typeof xff === 'string' ? xff : xff.join(',')).split(',');
  if (list.length < hops) return conn;
  const address = list[list.length - hops]!.trim();
  if (isIP(address) === 0) return conn;
  // Envoy reads no port from X-Forwarded-For: it logs the address with port 0.
  return { ...conn, clientAddress: address, clientPort: 0, remote: hostPort(address, 0), connectionAddress: conn.clientAddress };
}

/** The request's connection facts, its client address taken from
 *  X-Forwarded-For when hops are trusted. */
export function requestConn(req: DownstreamRequest, hops: number): ConnInfo | undefined {
  const conn = connOf(req);
  if (conn === undefined || hops === 0) return conn;
  return trustedClient(conn, req.headers['x-forwarded-for'], hops);
}
