// Fields isobar accepts but does not act on (notImplemented in the schema,
// or unknown to it): one warning each, worded the same everywhere, so what
// such a field means for an HTTPProxy's status is decided in one place.
// A field that restricts who may reach what, or how much (notEnforced), is
// never a warning: isobar fails closed, and the object is invalid.
import type { Condition } from './status.ts';

/** `where` names the field's parent as the message starts, such as
 *  "Spec.VirtualHost." or 'route "/": '. */
export function reportIgnoredFields(cond: Condition, where: string, fields: readonly string[]): void {
  for (const field of fields) {
    cond.addWarning('SpecError', 'IgnoredField', `${where}${field} is not supported by isobar and is ignored`);
  }
}

/** One error per restricting field isobar does not enforce; returns
 *  whether there was any (the caller then stops: nothing is served). */
export function reportUnenforcedFields(cond: Condition, where: string, fields: readonly string[]): boolean {
  for (const field of fields) {
    cond.addError(
      'SpecError',
      'NotSupported',
      `${where}${field} is not supported by isobar; this HTTPProxy is not served, rather than served without it`,
    );
  }
  return fields.length > 0;
}
