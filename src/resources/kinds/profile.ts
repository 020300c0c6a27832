import { labelKeyProblem, labelValue } from '../fields.js';
import type { KindDefinition } from '../kind-definition.js';
import { obj, stringMap } from '../schema.js';
import { CALICO_API_VERSION, type Profile, type ProfileSpec } from '../types.js';
import { rules } from './rule.js';

const fields = obj<ProfileSpec>({
  ingress: rules,
  egress: rules,
  labelsToApply: stringMap(labelValue, labelKeyProblem),
});

export const profileKind: KindDefinition<Profile> = {
  info: {
    kind: 'Profile',
    apiVersion: CALICO_API_VERSION,
    group: 'projectcalico.org',
    plural: 'profiles',
    namespaced: false,
    shortNames: ['profile', 'profiles', 'pro', 'pros'],
  },
  specOptional: true,
  checkSpec: (spec, ctx) => fields(spec, ctx) ?? {},
  withDefaults: (spec) => ({ ...spec }),
};
