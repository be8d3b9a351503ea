// The IP filter matcher: allow and deny policies over Peer and Remote
// rules, IPv4, IPv6 and IPv4-mapped addresses, one row per case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIpFilter, ipFilterAllows } from '../../src/proxy/ip-filter.ts';
import type { IpFilterConfig } from '../../src/dag/index.ts';

const allow = (...rules: IpFilterConfig['rules']): IpFilterConfig => ({ action: 'allow', rules });
const deny = (...rules: IpFilterConfig['rules']): IpFilterConfig => ({ action: 'deny', rules });
const peer = (cidr: string) => ({ cidr, source: 'Peer' as const });
const remote = (cidr: string) => ({ cidr, source: 'Remote' as const });

const rows: [name: string, filter: IpFilterConfig, peerAddr: string, remoteAddr: string, allowed: boolean][] = [
  ['allow: the remote address in range', allow(remote('10.0.0.0/8')), '127.0.0.1', '10.1.2.3', true],
  ['allow: the remote address out of range', allow(remote('10.0.0.0/8')), '10.1.2.3', '11.0.0.1', false],
  ['allow: a Peer rule looks at the peer, not the remote address', allow(peer('10.0.0.0/8')), '127.0.0.1', '10.1.2.3', false],
  ['allow: a Peer rule matches the peer', allow(peer('127.0.0.0/8')), '127.0.0.1', '203.0.113.9', true],
  ['allow: any rule is enough', allow(peer('192.0.2.1/32'), remote('198.51.100.0/24')), '127.0.0.1', '198.51.100.77', true],
  ['allow: the edges of a range', allow(remote('192.168.4.0/22')), '-', '192.168.7.255', true],
  ['allow: just past the range', allow(remote('192.168.4.0/22')), '-', '192.168.8.0', false],
  ['allow: 0.0.0.0/0 allows every IPv4 client but no IPv6 one', allow(remote('0.0.0.0/0')), '-', '2001:db8::1', false],
  ['allow: IPv6 in range', allow(remote('2001:db8::/32')), '-', '2001:db8:ffff::1', true],
  ['allow: IPv6 out of range', allow(remote('2001:db8::/32')), '-', '2001:db9::1', false],
  ['allow: an IPv4-mapped client matches an IPv4 rule', allow(remote('10.0.0.0/8')), '-', '::ffff:10.9.9.9', true],
  ['allow: an IPv4 client matches an IPv4-mapped rule', allow(remote('::ffff:10.0.0.0/104')), '-', '10.0.0.1', true],
  ['allow: something that is no address matches nothing', allow(remote('0.0.0.0/0'), peer('::/0')), 'unix:/tmp/s', '', false],
  ['deny: a listed client is refused', deny(remote('203.0.113.0/24')), '127.0.0.1', '203.0.113.5', false],
  ['deny: everyone else passes', deny(remote('203.0.113.0/24')), '127.0.0.1', '198.51.100.5', true],
  ['deny: a Peer rule refuses whatever the remote address', deny(peer('127.0.0.2/32')), '127.0.0.2', '198.51.100.5', false],
  ['deny: a single address', deny(remote('2001:db8::68/128')), '-', '2001:db8::68', false],
];

for (const [name, filter, p, r, allowed] of rows) {
  test(`ip filter: ${name}`, () => {
    assert.equal(ipFilterAllows(compileIpFilter(filter), p, r), allowed);
  });
}
