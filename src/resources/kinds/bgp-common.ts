import { obj, required, str, bool } from '../schema.js';
import type { SecretSource } from '../types.js';

/** A reference to a key in a Kubernetes Secret (BGP passwords). */
export const secretSource = obj<SecretSource>({
  secretKeyRef: required(
    obj({
      name: required(str({ nonEmpty: true })),
      key: required(str({ nonEmpty: true })),
      optional: bool(),
    }),
  ),
});
