// Which Ingresses are isobar's: Contour's internal/ingressclass rules
// (the class annotation first, then spec.ingressClassName; with no class
// configured, no class or "contour" is ours), plus the IngressClass
// objects Kubernetes uses to say the same: a class whose spec.controller
// is Contour's controller name is ours whatever its name (and one naming
// another controller is not, whatever its name), and an Ingress without a
// class belongs to the class marked as the default.
import type { IngressClass } from '../objects/index.ts';
import { rec, str, strMap } from './safe.ts';

/** Contour's controller name, so IngressClass manifests written for Contour work unchanged. */
export const CONTOUR_INGRESS_CONTROLLER = 'projectcontour.io/ingress-controller';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const DEFAULT_CLASS_NAME = 'contour';

/** The class an Ingress names: annotation (Contour's, then the standard one), else the spec field. */
export function ingressClassOf(raw: unknown): string {
  const o = rec(raw);
  const a = strMap(rec(o?.metadata)?.annotations);
  if (Object.hasOwn(a, 'projectcontour.io/ingress.class') && a['projectcontour.io/ingress.class'] !== '') return a['projectcontour.io/ingress.class']!;
  if (Object.hasOwn(a, 'kubernetes.io/ingress.class') && a['kubernetes.io/ingress.class'] !== '') return a['kubernetes.io/ingress.class']!;
  return str(rec(o?.spec)?.ingressClassName);
}

export interface ClassIndex {
  /** IngressClass name -> whether its controller is Contour's. */
  controllers: Map<string, boolean>;
  /** The class marked default, if exactly one is (the API server refuses to pick among several). */
  defaultClass: string | undefined;
}

export function indexClasses(classes: readonly IngressClass[]): ClassIndex {
  const controllers = new Map<string, boolean>();
  const defaults: string[] = [];
  for (const c of classes) {
    const name = str(rec(c?.metadata)?.name);
    if (name === '') continue;
    controllers.set(name, str(rec(c.spec)?.controller) === CONTOUR_INGRESS_CONTROLLER);
    if (strMap(rec(c.metadata)?.annotations)[DEFAULT_CLASS_ANNOTATION] === 'true') defaults.push(name);
  }
  return { controllers, defaultClass: defaults.length === 1 ? defaults[0] : undefined };
}

/** Whether isobar serves an Ingress of class `cls` ("" for none). */
export function classIsOurs(cls: string, configured: string | undefined, index: ClassIndex): boolean {
  if (cls === '' && index.defaultClass !== undefined) return classIsOurs(index.defaultClass, configured, index);
  // An IngressClass object says who owns its name; without one, Contour's rule by name.
  const owned = cls !== '' ? index.controllers.get(cls) : undefined;
  if (owned !== undefined) return owned;
  if (configured) return configuredClasses(configured).includes(cls);
  return cls === '' || cls === DEFAULT_CLASS_NAME;
}

/** ingress-class-name may list several classes, comma-separated (Contour's --ingress-class-name). */
export function configuredClasses(configured: string): string[] {
  return configured.split(',').map((c) => c.trim()).filter((c) => c !== '');
}
