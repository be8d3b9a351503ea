// Fields isobar accepts but does not act on (notImplemented in the schema,
// or unknown to it): one warning each, worded the same everywhere, so what
// such a field means for an HTTPProxy's status is decided in one place.
import type { Condition } from './status.ts';

/** `where` names the field's parent as the message starts, such as
 *  "Spec.VirtualHost." or 'route "/": '. */
export function reportIgnoredFields(cond: Condition, where: string, fields: readonly string[]): void {
  for (const field of fields) {
    cond.addWarning('SpecError', 'IgnoredField', `${where}${field} is not supported by isobar and is ignored`);
  }
}
