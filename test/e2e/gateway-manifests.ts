// Manifest text the Gateway API end-to-end tests share.

/** Contour's GatewayClass: the Gateways of these tests name it. */
export const GATEWAY_CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: contour}
spec: {controllerName: projectcontour.io/gateway-controller}
`;

/** A Service in namespace apps (port 80, or the named port given) and its
 *  Endpoints: one address, 127.0.0.1, on `port`. */
export function serviceAt(name: string, port: number, o: { portName?: string; servicePort?: number } = {}): string {
  const named = o.portName ? `name: ${o.portName}, ` : '';
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: apps}
spec: {ports: [{${named}port: ${o.servicePort ?? 80}, targetPort: ${port}}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ${name}, namespace: apps}
subsets: [{addresses: [{ip: 127.0.0.1}], ports: [{${named}port: ${port}}]}]
`;
}

/** Contour's GatewayClass and the Gateway `edge` in namespace apps with
 *  these listeners (YAML flow mappings or block items, one per line) and,
 *  when given, these annotations for its load balancer Service. */
export function edgeGateway(listeners: string[], o: { annotations?: Record<string, string> } = {}): string {
  const annotations = Object.entries(o.annotations ?? {});
  const infrastructure = annotations.length === 0 ? '' : `  infrastructure:\n    annotations:\n${annotations.map(([k, v]) => `      ${k}: ${v}\n`).join('')}`;
  return `${GATEWAY_CLASS}---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: apps}
spec:
  gatewayClassName: contour
${infrastructure}  listeners:
${listeners.map((l) => (l.startsWith('  ') ? l : `  - ${l}`)).join('\n')}
`;
}

/** A kubernetes.io/tls Secret in namespace apps holding `pair`. */
export function tlsSecretYaml(name: string, pair: { certPem: string; keyPem: string }): string {
  const indent = (pem: string) => pem.trim().split('\n').map((l) => `    ${l}`).join('\n');
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: apps}
type: kubernetes.io/tls
stringData:
  tls.crt: |
${indent(pair.certPem)}
  tls.key: |
${indent(pair.keyPem)}
`;
}
