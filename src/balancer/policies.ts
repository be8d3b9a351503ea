// The NLB's TLS negotiation policies and ALPN policies, as data. The cipher
// lists follow the AWS documentation tables (TLS <= 1.2 in table order, TLS
// 1.3 suites separately); the server's order wins, as on the NLB.

import type { TlsPolicy } from './balancer-config.ts';

export const DEFAULT_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

const T13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const EG = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'];
const EC = ['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384'];
const ES = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA', 'ECDHE-ECDSA-AES256-SHA'];
const RG = ['AES128-GCM-SHA256', 'AES256-GCM-SHA384'];
const RC = ['AES128-SHA256', 'AES256-SHA256'];
const RS = ['AES128-SHA', 'AES256-SHA'];
const D3 = ['DES-CBC3-SHA'];

// The documentation's single order for TLS <= 1.2 ciphers; a policy offers
// the subset its groups name, in this order.
const TABLE_ORDER = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA', 'ECDHE-ECDSA-AES256-SHA',
  'AES128-GCM-SHA256', 'AES128-SHA256', 'AES128-SHA', 'AES256-GCM-SHA384', 'AES256-SHA256', 'AES256-SHA', 'DES-CBC3-SHA',
];

type Version = TlsPolicy['minVersion'];

// Classical groups the ELB policies offer; the 2025-09 "PQ" policies put the
// hybrid ML-KEM groups first.
const CLASSICAL_GROUPS = ['X25519', 'P-256', 'P-384'];
const PQ_GROUPS = ['X25519MLKEM768', 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024', ...CLASSICAL_GROUPS];

function policy(name: string, min: Version, max: Version, groups: string[][], tls13: boolean, pq = false): TlsPolicy {
  const set = new Set(groups.flat());
  const legacy = min === 'TLSv1' || min === 'TLSv1.1';
  return {
    name,
    minVersion: min,
    maxVersion: max,
    ciphers: TABLE_ORDER.filter((c) => set.has(c)),
    ciphersuites: tls13 ? [...T13] : [],
    // OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 handshake signatures) above level 0.
    securityLevel: legacy ? 0 : 1,
    groups: [...(pq ? PQ_GROUPS : CLASSICAL_GROUPS)],
  };
}

const P = 'ELBSecurityPolicy-';
const ALL: TlsPolicy[] = [
  policy(`${P}2016-08`, 'TLSv1', 'TLSv1.2', [EG, EC, ES, RG, RC, RS], false),
  policy(`${P}2015-05`, 'TLSv1', 'TLSv1.2', [EG, EC, ES, RG, RC, RS], false),
  policy(`${P}TLS13-1-0-2021-06`, 'TLSv1', 'TLSv1.3', [EG, EC, ES, RG, RC, RS], true),
  policy(`${P}TLS13-1-1-2021-06`, 'TLSv1.1', 'TLSv1.3', [EG, EC, ES, RG, RC, RS], true),
  policy(`${P}TLS13-1-2-Ext2-2021-06`, 'TLSv1.2', 'TLSv1.3', [EG, EC, ES, RG, RC, RS], true),
  policy(`${P}TLS13-1-2-Ext1-2021-06`, 'TLSv1.2', 'TLSv1.3', [EG, EC, RG, RC], true),
  policy(`${P}TLS13-1-2-2021-06`, 'TLSv1.2', 'TLSv1.3', [EG, EC], true),
  policy(`${P}TLS13-1-2-Res-2021-06`, 'TLSv1.2', 'TLSv1.3', [EG], true),
  policy(`${P}TLS13-1-3-2021-06`, 'TLSv1.3', 'TLSv1.3', [], true),
  policy(`${P}TLS13-1-2-PQ-2025-09`, 'TLSv1.2', 'TLSv1.3', [EG, EC], true, true),
  policy(`${P}TLS13-1-2-Res-PQ-2025-09`, 'TLSv1.2', 'TLSv1.3', [EG], true, true),
  policy(`${P}TLS13-1-2-Ext1-PQ-2025-09`, 'TLSv1.2', 'TLSv1.3', [EG, EC, RG, RC], true, true),
  policy(`${P}TLS13-1-2-Ext2-PQ-2025-09`, 'TLSv1.2', 'TLSv1.3', [EG, EC, ES, RG, RC, RS], true, true),
  policy(`${P}TLS13-1-3-PQ-2025-09`, 'TLSv1.3', 'TLSv1.3', [], true, true),
  policy(`${P}FS-2018-06`, 'TLSv1', 'TLSv1.2', [EG, EC, ES], false),
  policy(`${P}FS-1-1-2019-08`, 'TLSv1.1', 'TLSv1.2', [EG, EC, ES], false),
  policy(`${P}FS-1-2-2019-08`, 'TLSv1.2', 'TLSv1.2', [EG, EC, ES], false),
  policy(`${P}FS-1-2-Res-2019-08`, 'TLSv1.2', 'TLSv1.2', [EG, EC], false),
  policy(`${P}FS-1-2-Res-2020-10`, 'TLSv1.2', 'TLSv1.2', [EG], false),
  policy(`${P}TLS-1-0-2015-04`, 'TLSv1', 'TLSv1.2', [EG, EC, ES, RG, RC, RS, D3], false),
  policy(`${P}TLS-1-1-2017-01`, 'TLSv1.1', 'TLSv1.2', [EG, EC, ES, RG, RC, RS], false),
  policy(`${P}TLS-1-2-2017-01`, 'TLSv1.2', 'TLSv1.2', [EG, EC, RG, RC], false),
  policy(`${P}TLS-1-2-Ext-2018-06`, 'TLSv1.2', 'TLSv1.2', [EG, EC, ES, RG, RC, RS], false),
];

const BY_NAME = new Map(ALL.map((p) => [p.name, p]));

/** Policy names isobar knows, in table order (for messages and docs). */
export const POLICY_NAMES: readonly string[] = ALL.map((p) => p.name);

/** The policy by its exact (case-sensitive) name, as AWS matches it. */
export function lookupPolicy(name: string): TlsPolicy | undefined {
  const p = BY_NAME.get(name);
  return p ? structuredClone(p) : undefined;
}

/** ALPN policies: protocols in the policy's preference order; null = None. */
export const ALPN_POLICIES: Readonly<Record<string, readonly string[] | null>> = {
  None: null,
  HTTP1Only: ['http/1.1', 'http/1.0'],
  HTTP2Only: ['h2'],
  HTTP2Optional: ['http/1.1', 'http/1.0', 'h2'],
  HTTP2Preferred: ['h2', 'http/1.1', 'http/1.0'],
};

/** Name of the ALPN policy a protocol list came from (for status output). */
export function alpnPolicyName(list: readonly string[] | null): string {
  for (const [name, l] of Object.entries(ALPN_POLICIES)) {
    if (l === null ? list === null : list !== null && l.join(',') === list.join(',')) return name;
  }
  return 'custom';
}

/** NLB ALPN choice: the first protocol of the policy that the client also
 *  offers; undefined when there is no overlap (no ALPN, handshake goes on). */
export function selectAlpn(policyList: readonly string[], clientList: readonly string[]): string | undefined {
  return policyList.find((p) => clientList.includes(p));
}
