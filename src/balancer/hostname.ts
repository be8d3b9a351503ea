// The controller's load balancer name and the AWS DNS name, made
// deterministic: the hash covers cluster, namespace/name and scheme (a
// scheme change replaces the NLB, so it gets a new name, as on AWS).

import { createHash } from 'node:crypto';

function hex(s: string, n: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

const alnum = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');

export function loadBalancerName(cluster: string, namespace: string, name: string, scheme: string): string {
  return `k8s-${alnum(namespace).slice(0, 8)}-${alnum(name).slice(0, 8)}-${hex(`${cluster}\0${namespace}/${name}\0${scheme}`, 10)}`;
}

export function loadBalancerHostname(lbName: string, region: string): string {
  return `${lbName}-${hex(`${lbName}\0${region}`, 16)}.elb.${region}.amazonaws.com`.toLowerCase();
}
