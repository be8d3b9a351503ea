// The manifests of the control-plane benchmarks (reload.ts, fanout.ts): a
// plain backend Service with its Endpoints, and many one-route HTTPProxies
// routed to it.

import { LOOPBACK } from './ports.ts';

export function backendYaml(plainPort: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: backend-plain, namespace: bench }
spec:
  ports: [{ name: http, port: 80, targetPort: ${plainPort} }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: backend-plain, namespace: bench }
subsets:
  - addresses: [{ ip: ${LOOPBACK} }]
    ports: [{ name: http, port: ${plainPort} }]
`;
}

export function proxyYaml(name: string, fqdn: string): string {
  return `---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: ${name}, namespace: bench }
spec:
  virtualhost: { fqdn: ${fqdn} }
  routes:
    - conditions: [{ prefix: / }]
      services: [{ name: backend-plain, port: 80 }]
`;
}

/** `count` HTTPProxies r0 ... r{count-1} for hosts r<i>.example.test, as one file's text. */
export function manyProxies(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) docs.push(proxyYaml(`r${i}`, `r${i}.example.test`));
  return docs.join('');
}
