// Validation the API server does in code rather than through a schema, for
// the core kinds isobar reads (pkg/apis/core/validation): the rules a
// manifest most often trips over.

import { isIPv4, isIPv6 } from 'node:net';
import type { FieldError, Kind } from './types.ts';

const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SECRET_BYTES = 1024 * 1024;

export function coreRules(kind: Kind, obj: Record<string, unknown>): FieldError[] {
  switch (kind) {
    case 'Service':
      return serviceRules(obj);
    case 'Secret':
      return secretRules(obj);
    case 'Endpoints':
      return endpointsRules(obj);
    case 'EndpointSlice':
      return endpointSliceRules(obj);
    default:
      return [];
  }
}

function serviceRules(obj: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const spec = (obj['spec'] ?? {}) as Record<string, unknown>;
  const ports = Array.isArray(spec['ports']) ? (spec['ports'] as unknown[]) : [];
  const names = new Map<string, number>();
  const portProto = new Map<string, number>();
  ports.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null) return;
    const p = raw as Record<string, unknown>;
    const at = `spec.ports[${i}]`;
    const name = p['name'];
    if (ports.length > 1 && (name === undefined || name === '')) {
      errors.push({ path: `${at}.name`, message: 'is required when a Service has more than one port' });
    }
    if (typeof name === 'string' && name !== '') {
      if (names.has(name)) errors.push({ path: `${at}.name`, message: `duplicate port name ${JSON.stringify(name)} (also spec.ports[${names.get(name)}])` });
      else names.set(name, i);
    }
    if (typeof p['port'] === 'number') {
      const key = `${p['port']}/${typeof p['protocol'] === 'string' ? p['protocol'] : 'TCP'}`;
      if (portProto.has(key)) errors.push({ path: at, message: `duplicate port ${key} (also spec.ports[${portProto.get(key)}])` });
      else portProto.set(key, i);
    }
    const tp = p['targetPort'];
    if (typeof tp === 'number' && (!Number.isInteger(tp) || tp < 1 || tp > 65535)) {
      errors.push({ path: `${at}.targetPort`, message: 'must be a port number between 1 and 65535 or a port name' });
    } else if (typeof tp === 'string' && !/^\d+$/.test(tp) && (tp.length > 15 || !IANA_SVC_NAME.test(tp) || tp.includes('--'))) {
      errors.push({ path: `${at}.targetPort`, message: `invalid port name ${JSON.stringify(tp)}: at most 15 lower case letters, digits or '-', with at least one letter` });
    }
  });
  if (spec['type'] === 'ExternalName' && (typeof spec['externalName'] !== 'string' || spec['externalName'] === '')) {
    errors.push({ path: 'spec.externalName', message: 'is required for type ExternalName' });
  }
  return errors;
}

function secretRules(obj: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const data = isMap(obj['data']) ? obj['data'] : {};
  const stringData = isMap(obj['stringData']) ? obj['stringData'] : {};
  const keys = new Set([...Object.keys(data), ...Object.keys(stringData)]);
  let bytes = 0;
  for (const [field, map] of [['data', data], ['stringData', stringData]] as const) {
    for (const [k, v] of Object.entries(map)) {
      if (!CONFIG_KEY.test(k)) errors.push({ path: `${field}[${k}]`, message: `invalid key ${JSON.stringify(k)}: a key must consist of letters, digits, '-', '_' or '.'` });
      if (typeof v === 'string') bytes += field === 'data' ? Math.floor((v.replace(/[\r\n=]/g, '').length * 3) / 4) : Buffer.byteLength(v);
    }
  }
  if (bytes > MAX_SECRET_BYTES) errors.push({ path: 'data', message: `too long: a Secret holds at most ${MAX_SECRET_BYTES} bytes, this one ${bytes}` });
  if (obj['type'] === 'kubernetes.io/tls') {
    for (const k of ['tls.crt', 'tls.key']) {
      if (!keys.has(k)) errors.push({ path: `data[${k}]`, message: 'is required for a Secret of type kubernetes.io/tls' });
    }
  }
  return errors;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function endpointsRules(obj: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const subsets = Array.isArray(obj['subsets']) ? (obj['subsets'] as unknown[]) : [];
  subsets.forEach((subset, i) => {
    if (!isMap(subset)) return;
    for (const field of ['addresses', 'notReadyAddresses']) {
      const list = Array.isArray(subset[field]) ? (subset[field] as unknown[]) : [];
      list.forEach((a, j) => {
        const ip = isMap(a) ? a['ip'] : undefined;
        if (typeof ip === 'string' && !isIPv4(ip) && !isIPv6(ip)) {
          errors.push({ path: `subsets[${i}].${field}[${j}].ip`, message: `must be a valid IP address, found ${JSON.stringify(ip)}` });
        }
      });
    }
  });
  return errors;
}

function endpointSliceRules(obj: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const type = obj['addressType'];
  const endpoints = Array.isArray(obj['endpoints']) ? (obj['endpoints'] as unknown[]) : [];
  endpoints.forEach((e, i) => {
    const addresses = isMap(e) && Array.isArray(e['addresses']) ? (e['addresses'] as unknown[]) : [];
    addresses.forEach((a, j) => {
      if (typeof a !== 'string') return;
      const ok = type === 'IPv4' ? isIPv4(a) : type === 'IPv6' ? isIPv6(a) : a.length <= 253 && DNS_SUBDOMAIN.test(a);
      if (!ok) errors.push({ path: `endpoints[${i}].addresses[${j}]`, message: `must be a valid ${type} address, found ${JSON.stringify(a)}` });
    });
  });
  return errors;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
