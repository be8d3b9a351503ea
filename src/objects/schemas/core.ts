// Core objects (v1 Service, Secret, Endpoints; discovery.k8s.io/v1
// EndpointSlice): the fields isobar reads with the API server's types and
// bounds, plus the other fields those types have so real manifests load
// without unknown-field warnings.

import type { JsonSchema } from './builders.ts';
import { arr, bool, enumOf, int, intOrString, kubeObject, obj, open, port, str, strMap } from './builders.ts';

const protocol = () => enumOf(['TCP', 'UDP', 'SCTP']);

export const serviceSchema: JsonSchema = kubeObject({
  spec: obj({
    type: enumOf(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']),
    ports: arr(
      obj(
        {
          name: str(),
          protocol: protocol(),
          appProtocol: str(),
          port: port(),
          targetPort: intOrString(),
          nodePort: int({ minimum: 0, maximum: 65535 }),
        },
        ['port'],
      ),
    ),
    selector: strMap(),
    clusterIP: str(),
    clusterIPs: arr(str()),
    externalIPs: arr(str()),
    externalName: str(),
    externalTrafficPolicy: enumOf(['Cluster', 'Local']),
    internalTrafficPolicy: enumOf(['Cluster', 'Local']),
    healthCheckNodePort: int({ minimum: 0, maximum: 65535 }),
    loadBalancerClass: str(),
    loadBalancerIP: str(),
    loadBalancerSourceRanges: arr(str()),
    allocateLoadBalancerNodePorts: bool(),
    publishNotReadyAddresses: bool(),
    sessionAffinity: enumOf(['None', 'ClientIP']),
    sessionAffinityConfig: open(),
    ipFamilies: arr(enumOf(['IPv4', 'IPv6'])),
    ipFamilyPolicy: enumOf(['SingleStack', 'PreferDualStack', 'RequireDualStack']),
    trafficDistribution: str(),
  }),
});

export const secretSchema: JsonSchema = kubeObject({
  type: str(),
  data: strMap(),
  stringData: strMap(),
  immutable: bool(),
});

const endpointPort = () => obj({ name: str(), port: port(), protocol: protocol(), appProtocol: str() });
const endpointAddress = () => obj({ ip: str({ minLength: 1 }), hostname: str(), nodeName: str(), targetRef: open() }, ['ip']);

export const endpointsSchema: JsonSchema = kubeObject({
  subsets: arr(
    obj({
      addresses: arr(endpointAddress()),
      notReadyAddresses: arr(endpointAddress()),
      ports: arr(obj({ name: str(), port: port(), protocol: protocol(), appProtocol: str() }, ['port'])),
    }),
  ),
});

export const endpointSliceSchema: JsonSchema = kubeObject(
  {
    addressType: enumOf(['IPv4', 'IPv6', 'FQDN']),
    endpoints: arr(
      obj(
        {
          addresses: arr(str(), { minItems: 1, maxItems: 100 }),
          conditions: obj({ ready: bool(), serving: bool(), terminating: bool() }),
          hostname: str(),
          nodeName: str(),
          zone: str(),
          targetRef: open(),
          hints: open(),
          deprecatedTopology: strMap(),
        },
        ['addresses'],
      ),
    ),
    ports: arr(endpointPort()),
  },
  ['addressType'],
);

export const namespaceSchema: JsonSchema = kubeObject({ spec: obj({ finalizers: arr(str()) }) });

/** Read for the CA bundles BackendTLSPolicies name (`ca.crt`). */
export const configMapSchema: JsonSchema = kubeObject({ data: strMap(), binaryData: strMap(), immutable: bool() });
