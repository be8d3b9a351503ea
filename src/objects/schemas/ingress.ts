// networking.k8s.io/v1 Ingress and IngressClass: the API server's types and
// bounds (the code-level rules it applies are in core-rules.ts), so real
// manifests load without unknown-field warnings.

import type { JsonSchema } from './builders.ts';
import { arr, enumOf, int, kubeObject, obj, open, str } from './builders.ts';

const backend = () =>
  obj({
    service: obj({ name: str({ minLength: 1 }), port: obj({ name: str(), number: int({ minimum: 1, maximum: 65535 }) }) }, ['name']),
    resource: obj({ apiGroup: str(), kind: str({ minLength: 1 }), name: str({ minLength: 1 }) }, ['kind', 'name']),
  });

export const ingressSchema: JsonSchema = kubeObject({
  spec: obj({
    ingressClassName: str(),
    defaultBackend: backend(),
    tls: arr(obj({ hosts: arr(str()), secretName: str() })),
    rules: arr(
      obj({
        host: str(),
        http: obj(
          {
            paths: arr(
              obj(
                {
                  path: str(),
                  pathType: enumOf(['Exact', 'Prefix', 'ImplementationSpecific']),
                  backend: backend(),
                },
                ['pathType', 'backend'],
              ),
              { minItems: 1 },
            ),
          },
          ['paths'],
        ),
      }),
    ),
  }),
});

export const ingressClassSchema: JsonSchema = kubeObject({
  spec: obj({
    controller: str({ maxLength: 250 }),
    parameters: open(),
  }),
});
