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
    case 'Ingress':
      return ingressRules(obj);
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

const WILDCARD_HOST = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Segments the API server refuses in Exact and Prefix paths. */
const INVALID_PATH_PARTS = ['//', '/./', '/../', '%2f', '%2F'];

/** pkg/apis/networking/validation: ValidateIngressSpec's rules that a schema cannot say. */
function ingressRules(obj: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isMap(obj['spec']) ? obj['spec'] : {};
  const rules = Array.isArray(spec['rules']) ? (spec['rules'] as unknown[]) : [];
  if (spec['defaultBackend'] === undefined && rules.length === 0) {
    errors.push({ path: 'spec', message: 'either `defaultBackend` or `rules` must be specified' });
  }
  if (spec['defaultBackend'] !== undefined) errors.push(...backendRules(spec['defaultBackend'], 'spec.defaultBackend'));
  const tls = Array.isArray(spec['tls']) ? (spec['tls'] as unknown[]) : [];
  tls.forEach((t, i) => {
    const hosts = isMap(t) && Array.isArray(t['hosts']) ? (t['hosts'] as unknown[]) : [];
    hosts.forEach((h, j) => {
      if (typeof h === 'string') errors.push(...hostRules(h, `spec.tls[${i}].hosts[${j}]`));
    });
  });
  rules.forEach((r, i) => {
    if (!isMap(r)) return;
    const at = `spec.rules[${i}]`;
    if (typeof r['host'] === 'string' && r['host'] !== '') errors.push(...hostRules(r['host'], `${at}.host`));
    const paths = isMap(r['http']) && Array.isArray(r['http']['paths']) ? (r['http']['paths'] as unknown[]) : [];
    paths.forEach((p, j) => {
      if (!isMap(p)) return;
      const pat = `${at}.http.paths[${j}]`;
      const path = typeof p['path'] === 'string' ? p['path'] : '';
      const type = p['pathType'];
      if (type === 'Exact' || type === 'Prefix') {
        if (!path.startsWith('/')) errors.push({ path: `${pat}.path`, message: `must be an absolute path, found ${JSON.stringify(path)}` });
        else {
          const bad = INVALID_PATH_PARTS.find((x) => path.includes(x)) ?? (path.endsWith('/..') ? '/..' : path.endsWith('/.') ? '/.' : undefined);
          if (bad) errors.push({ path: `${pat}.path`, message: `must not contain '${bad}'` });
        }
      } else if (path !== '' && !path.startsWith('/')) {
        errors.push({ path: `${pat}.path`, message: `must be an absolute path, found ${JSON.stringify(path)}` });
      }
      errors.push(...backendRules(p['backend'], `${pat}.backend`));
    });
  });
  return errors;
}

function hostRules(host: string, at: string): FieldError[] {
  if (isIPv4(host) || isIPv6(host)) return [{ path: at, message: `must be a DNS name, not an IP address: ${JSON.stringify(host)}` }];
  const ok = host.length <= 253 && (host.startsWith('*') ? WILDCARD_HOST.test(host) : DNS_SUBDOMAIN.test(host));
  return ok ? [] : [{ path: at, message: `invalid host ${JSON.stringify(host)}: a lowercase DNS name, optionally starting with "*."` }];
}

function backendRules(b: unknown, at: string): FieldError[] {
  if (!isMap(b)) return [];
  const svc = b['service'];
  if (svc !== undefined && b['resource'] !== undefined) return [{ path: at, message: 'cannot set both service and resource backends' }];
  if (svc === undefined && b['resource'] === undefined) return [{ path: at, message: 'one backend type (service or resource) must be specified' }];
  if (!isMap(svc)) return [];
  const port = isMap(svc['port']) ? svc['port'] : {};
  const hasName = typeof port['name'] === 'string' && port['name'] !== '';
  const hasNumber = port['number'] !== undefined && port['number'] !== 0;
  if (hasName && hasNumber) return [{ path: `${at}.service.port`, message: 'cannot set both port name & port number' }];
  if (!hasName && !hasNumber) return [{ path: `${at}.service.port`, message: 'port name or number is required' }];
  return [];
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
