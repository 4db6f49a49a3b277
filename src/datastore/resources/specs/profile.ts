/** Profile: rules and labels shared by the endpoints that list it (e.g. a namespace's). */
import { dropUndefined, Fields } from '../../../common/fields.js';
import type { ProfileSpec } from '../types.js';
import { checkLabels, checkRules } from './rules.js';

export function validateProfileSpec(value: unknown, path: string): ProfileSpec {
  const f = Fields.of(value ?? {}, path, ['ingress', 'egress', 'labelsToApply']);
  return dropUndefined({
    ingress: f.object('ingress', checkRules),
    egress: f.object('egress', checkRules),
    labelsToApply: checkLabels(f, 'labelsToApply'),
  });
}
