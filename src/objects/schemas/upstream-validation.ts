// UpstreamValidation (projectcontour.io/v1): a CA Secret and the subject
// name(s) an upstream's certificate must carry. HTTPProxy services and
// ExtensionServices share it, as in Contour's API.
import { arr, obj, str } from './builders.ts';

// The CEL rule is checked by hand in schema.ts (keyed by its text).
export const upstreamValidation = () =>
  obj(
    {
      caSecret: str({ minLength: 1, maxLength: 317 }),
      subjectName: str({ minLength: 1, maxLength: 250 }),
      subjectNames: arr(str(), { minItems: 1, maxItems: 8 }),
    },
    ['caSecret', 'subjectName'],
    { 'x-kubernetes-validations': [{ rule: 'has(self.subjectNames) ? self.subjectNames[0] == self.subjectName : true', message: 'subjectNames[0] must equal subjectName if set' }] },
  );
