// ExtensionService (projectcontour.io/v1alpha1) and the HTTPProxy fields
// that use one for external authorization (virtualhost.authorization,
// routes' authPolicy), written from Contour's CRDs: the same types, enums,
// bounds and required fields.

import type { JsonSchema } from './builders.ts';
import { arr, bool, duration, enumOf, int, kubeObject, nullWhenUnset, obj, open, str, strMap } from './builders.ts';
import { upstreamValidation } from './upstream-validation.ts';

/** AuthorizationPolicy: routes' authPolicy and the virtual host's default. */
export const authorizationPolicy = () => obj({ disabled: bool(), context: strMap() });

const bufferSettings = () =>
  obj({ maxRequestBytes: int({ minimum: 1, maximum: 4294967295 }), allowPartialMessage: bool(), packAsBytes: bool() });

// httpSettings is only read for HTTP authorization servers, which isobar
// refuses: kept as written.
/** AuthorizationServer: virtualhost.authorization. */
export const authorizationServer = () =>
  obj(
    {
      extensionRef: obj({ apiVersion: str({ minLength: 1 }), namespace: str({ minLength: 1 }), name: str({ minLength: 1 }) }),
      serviceType: enumOf(['http', 'grpc']),
      httpSettings: open(),
      authPolicy: authorizationPolicy(),
      responseTimeout: duration(),
      failOpen: bool(),
      withRequestBody: bufferSettings(),
    },
    [],
    {
      'x-kubernetes-validations': [{ rule: "!has(self.httpSettings) || self.serviceType == 'http'", message: "httpSettings can only be set when serviceType is 'http'" }],
    },
  );


const int32 = () => int({ minimum: -2147483648, maximum: 2147483647 });

export const extensionServiceSpecSchema = obj(
  {
    services: arr(obj({ name: str(), port: int({ minimum: 1, maximum: 65535 }), weight: int({ minimum: 0, maximum: 4294967295 }) }, ['name', 'port']), { minItems: 1 }),
    validation: upstreamValidation(),
    protocol: nullWhenUnset(enumOf(['http/1.1', 'h2', 'h2c'])),
    loadBalancerPolicy: obj({
      strategy: str(),
      requestHashPolicies: arr(
        obj({
          terminal: bool(),
          headerHashOptions: obj({ headerName: str({ minLength: 1 }) }, ['headerName']),
          queryParameterHashOptions: obj({ parameterName: str({ minLength: 1 }) }, ['parameterName']),
          hashSourceIP: bool(),
        }),
      ),
    }),
    timeoutPolicy: obj({ response: duration(), idle: duration(), idleConnection: duration() }),
    protocolVersion: enumOf(['v3']),
    circuitBreakerPolicy: obj({
      maxConnections: int32(),
      maxPendingRequests: int32(),
      maxRequests: int32(),
      maxRetries: int32(),
      perHostMaxConnections: int32(),
    }),
  },
  ['services'],
);

export const extensionServiceSchema: JsonSchema = kubeObject({ spec: extensionServiceSpecSchema }, ['spec']);
