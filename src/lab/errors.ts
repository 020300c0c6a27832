import { TabbyError } from '../errors.js';

/**
 * Errors of `tabby lab`. Codes are stable: LAB_USAGE (bad name or flag), LAB_NOT_FOUND
 * (no lab state), LAB_EXISTS (up over a running lab), LAB_COMMAND (a tool such as `ip`
 * failed), LAB_TIMEOUT (etcd or an agent never became ready), LAB_CNI (the CNI plugin
 * answered an error; `cniCode` carries the CNI error code).
 */
export class LabError extends TabbyError {}

export class LabCniError extends LabError {
  constructor(
    readonly cniCode: number,
    readonly cniMsg: string,
    readonly cniDetails: string | undefined,
    message: string,
  ) {
    super('LAB_CNI', message);
  }
}
