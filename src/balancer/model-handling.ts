// Which Services the balancer takes: the controller's load balancer class,
// or the type annotation (nlb, nlb-ip, external + target type).

import type { Service } from '../objects/index.ts';
import { A, NLB_CLASS } from './annotations.ts';

export type Handling =
  | { handled: true; targetType: 'ip' | 'instance' }
  | { handled: false; warning?: { field: string; message: string } };

export function handling(svc: Service): Handling {
  if (svc.spec?.type !== 'LoadBalancer') return { handled: false };
  const ann = svc.metadata.annotations ?? {};
  const tt = ann[A.targetType];
  const cls = svc.spec.loadBalancerClass;
  if (cls !== undefined && cls !== '') {
    return cls === NLB_CLASS ? { handled: true, targetType: tt === 'ip' ? 'ip' : 'instance' } : { handled: false };
  }
  const t = ann[A.type];
  if (t === 'nlb-ip') return { handled: true, targetType: 'ip' };
  if (t === 'nlb') return { handled: true, targetType: tt === 'ip' ? 'ip' : 'instance' };
  if (t === 'external') {
    if (tt === 'ip' || tt === 'instance') return { handled: true, targetType: tt };
    return {
      handled: false,
      warning: {
        field: A.targetType,
        message: `aws-load-balancer-type is "external" but ${A.targetType} is ${tt === undefined ? 'missing' : `"${tt}"`}; set it to "ip" or "instance" or no load balancer is created`,
      },
    };
  }
  return { handled: false };
}
