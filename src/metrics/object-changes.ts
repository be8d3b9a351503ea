// What changed between two snapshots of the object cache, object by object
// (add, update, delete, by kind): the control plane's view of the changes
// it received, as Contour's contour_eventhandler_operation_total counts
// them. Two updates of one object between builds count once.

import type { Snapshot } from '../objects/index.ts';

interface Meta {
  kind: string;
  metadata: { namespace?: string; name: string; resourceVersion?: string };
}

export type ObjectIndex = Map<string, Meta>;

export interface ObjectChange {
  op: 'add' | 'update' | 'delete';
  kind: string;
  count: number;
}

export function indexSnapshot(s: Snapshot): ObjectIndex {
  const index: ObjectIndex = new Map();
  const lists: Meta[][] = [s.httpproxies, s.delegations, s.services, s.secrets, s.endpoints, s.endpointSlices, s.extensionServices ?? [], s.ingresses ?? [], s.ingressClasses ?? []];
  for (const list of lists) for (const o of list) index.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  return index;
}

/** The changes from `before` (undefined: nothing yet) to `after`, counted by op and kind, sorted. */
export function objectChanges(before: ObjectIndex | undefined, after: ObjectIndex): ObjectChange[] {
  const counts = new Map<string, ObjectChange>();
  const note = (op: ObjectChange['op'], kind: string): void => {
    const k = `${op}/${kind}`;
    const c = counts.get(k) ?? { op, kind, count: 0 };
    c.count++;
    counts.set(k, c);
  };
  for (const [key, o] of after) {
    const was = before?.get(key);
    if (was === undefined) note('add', o.kind);
    else if (!sameObject(was, o)) note('update', o.kind);
  }
  if (before) for (const [key, o] of before) if (!after.has(key)) note('delete', o.kind);
  return [...counts.values()].sort((a, b) => (a.kind === b.kind ? (a.op < b.op ? -1 : 1) : a.kind < b.kind ? -1 : 1));
}

function sameObject(a: Meta, b: Meta): boolean {
  if (a === b) return true;
  const ra = a.metadata.resourceVersion;
  if (ra !== undefined && ra === b.metadata.resourceVersion) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}
