// The CRDs in deploy/crds.yaml, derived from the schemas the validator uses
// (src/objects), so the API server and isobar reject the same objects.
// `node test/kube/crd-manifests.ts --write` regenerates the file; the deploy
// test fails when it is out of date.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { extensionServiceSchema, httpProxySchema, tlsCertificateDelegationSchema } from '../../src/objects/schema.ts';

type Schema = Record<string, unknown>;

/** Keywords apiextensions.k8s.io/v1 accepts in a structural schema. */
export const CRD_KEYWORDS = new Set([
  'type', 'properties', 'required', 'items', 'enum', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'multipleOf', 'minProperties', 'maxProperties',
  'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'not', 'description', 'format', 'default', 'nullable',
  'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-embedded-resource',
]);

/** Top-level metadata may not be constrained beyond `type: object` in a CRD. */
export function crdSchema(schema: Schema): Schema {
  const s = structuredClone(schema) as { properties: Record<string, unknown> };
  s.properties.metadata = { type: 'object' };
  return s as Schema;
}

function crd(o: { kind: string; plural: string; singular: string; shortNames: string[]; schema: Schema; status: boolean; columns?: unknown[]; version?: string }) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.projectcontour.io`, labels: { 'app.kubernetes.io/name': 'isobar' } },
    spec: {
      group: 'projectcontour.io',
      scope: 'Namespaced',
      names: { kind: o.kind, listKind: `${o.kind}List`, plural: o.plural, singular: o.singular, shortNames: o.shortNames },
      versions: [
        {
          name: o.version ?? 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: crdSchema(o.schema) },
          ...(o.status ? { subresources: { status: {} } } : {}),
          ...(o.columns ? { additionalPrinterColumns: o.columns } : {}),
        },
      ],
    },
  };
}

export function crdDocuments(): unknown[] {
  return [
    crd({
      kind: 'HTTPProxy',
      plural: 'httpproxies',
      singular: 'httpproxy',
      shortNames: ['proxy', 'proxies'],
      schema: httpProxySchema,
      status: true,
      columns: [
        { name: 'FQDN', type: 'string', jsonPath: '.spec.virtualhost.fqdn', description: 'Fully qualified domain name' },
        { name: 'TLS Secret', type: 'string', jsonPath: '.spec.virtualhost.tls.secretName', description: 'Secret with TLS credentials' },
        { name: 'Status', type: 'string', jsonPath: '.status.currentStatus', description: 'The current status of the HTTPProxy' },
        { name: 'Status Description', type: 'string', jsonPath: '.status.description', description: 'Description of the current status' },
      ],
    }),
    crd({
      kind: 'TLSCertificateDelegation',
      plural: 'tlscertificatedelegations',
      singular: 'tlscertificatedelegation',
      shortNames: ['tlscerts'],
      schema: tlsCertificateDelegationSchema,
      status: false,
    }),
    crd({
      kind: 'ExtensionService',
      plural: 'extensionservices',
      singular: 'extensionservice',
      shortNames: ['extensionservice', 'extensionservices'],
      schema: extensionServiceSchema,
      status: true,
      version: 'v1alpha1',
    }),
  ];
}

export function crdYaml(): string {
  const header = '# Generated from src/objects/schemas by test/kube/crd-manifests.ts: do not edit.\n# kubectl apply -f deploy/crds.yaml\n';
  return header + crdDocuments().map((d) => '---\n' + stringify(d, { lineWidth: 0 })).join('');
}

export const CRD_FILE = fileURLToPath(new URL('../../deploy/crds.yaml', import.meta.url));

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(CRD_FILE, crdYaml());
  process.stdout.write(`wrote ${CRD_FILE}\n`);
}
