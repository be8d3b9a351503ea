// The HTTPProxy as the processor reads it, derived from the schema
// (objects' schemas/httpproxy.ts): every field the schema has, present with
// a definite type and Contour's zero value ("" / 0 / false / null / []), the
// way the Go structs Contour reads behave, so rules written against
// Contour's zero-value checks translate directly and mangled input cannot
// reach the processor as anything but a zero value. Fields marked
// notImplemented are left out; an object that has such fields lists the
// ones set under `unsupported`. read.ts fills these shapes, and the compiler
// holds it to them: a field added to the schema is missing there until it
// is read.
import type { httpProxySpecSchema, ShapeOf } from '../objects/index.ts';

/** A value of schema node N as the dag reads it. */
export type Normal<N> = NormalShape<ShapeOf<N>>;
type NormalShape<S> = S extends { nullWhenUnset: true; value: infer V }
  ? V | null
  : S extends { kind: 'scalar'; value: infer V }
    ? V
    : S extends { kind: 'open'; value: infer V }
      ? V | null
      : S extends { kind: 'array'; items: infer I }
        ? NonNullable<Normal<I>>[]
        : S extends { kind: 'object'; props: infer P }
          ? Flat<Implemented<P> & (true extends AnyNotImplemented<P> ? Unsupported : unknown)> | null
          : never;
type IsNotImplemented<N> = ShapeOf<N> extends { notImplemented: true } ? true : false;
type Implemented<P> = { [K in keyof P as IsNotImplemented<P[K]> extends true ? never : K]: Normal<P[K]> };
type AnyNotImplemented<P> = { [K in keyof P]: IsNotImplemented<P[K]> }[keyof P];
type Flat<T> = { [K in keyof T]: T[K] } & {};

interface Unsupported {
  /** Fields set that isobar does not implement (or the schema does not
   *  know: a caller of build() may skip the validator), sorted. */
  unsupported: string[];
  /** Fields set that restrict access and that isobar does not enforce
   *  (notEnforced in the schema), sorted: the object is invalid. */
  unenforced: string[];
}

type Spec = NonNullable<Normal<typeof httpProxySpecSchema>>;

/** What Contour's checks read from virtual host fields isobar accepts but
 *  does not implement (they are also listed in `unsupported`). */
export interface VirtualHostFacts {
  /** fqdn lower-cased: roots are told apart by it (made once per object). */
  fqdnKey: string;
}

// Unknown fields are still listed when the schema marks none notImplemented.
export type NVirtualHost = NonNullable<Spec['virtualhost']> & VirtualHostFacts & Unsupported;
export type NTls = NonNullable<NVirtualHost['tls']>;
type SpecRoute = Spec['routes'][number];
// Unknown fields are listed on services too, now that the schema marks
// none of theirs notImplemented.
export type NService = SpecRoute['services'][number] & Unsupported;
export type NRoute = Omit<SpecRoute, 'services'> & { services: NService[] };
export type NValidation = NonNullable<NService['validation']>;
export type NCond = NRoute['conditions'][number];
export type NHeaderCond = NonNullable<NCond['header']>;
export type NQueryCond = NonNullable<NCond['queryParameter']>;
export type NHeaders = NonNullable<NRoute['requestHeadersPolicy']>;
export type NLoadBalancerPolicy = NonNullable<NRoute['loadBalancerPolicy']>;
export type NHealthCheck = NonNullable<NRoute['healthCheckPolicy']>;
export type NTCPProxy = Omit<NonNullable<Spec['tcpproxy']>, 'services'> & { services: NService[] };
export type NTcpHealthCheck = NonNullable<NTCPProxy['healthCheckPolicy']>;
export type NIpFilterPolicy = NRoute['ipAllowPolicy'][number];
export type NCorsPolicy = NonNullable<NVirtualHost['corsPolicy']>;
export type NJwtProvider = NVirtualHost['jwtProviders'][number];
export type NCookieRewrite = NRoute['cookieRewritePolicies'][number];
export type NInternalRedirect = NonNullable<NRoute['internalRedirectPolicy']>;
export type NJwtVerificationPolicy = NonNullable<NRoute['jwtVerificationPolicy']>;

export type NProxy = Omit<Spec, 'virtualhost' | 'ingressClassName' | 'routes' | 'tcpproxy'> & {
  routes: NRoute[];
  tcpproxy: NTCPProxy | null;
  namespace: string;
  name: string;
  generation: number;
  /** spec.ingressClassName, else the ingress class annotations. */
  ingressClass: string;
  virtualhost: NVirtualHost | null;
};
