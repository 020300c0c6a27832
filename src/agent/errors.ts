import { TabbyError } from '../errors.js';

/**
 * Errors of the agent's own making (configuration, startup). Codes are stable:
 * `AGENT_CONFIG` a setting is wrong (the message names it and where it came from),
 * `AGENT_AUTODETECT` the uplink or node address could not be found (say it with a flag),
 * `DATAPLANE_UNAVAILABLE` the requested dataplane is not in this build or kernel.
 */
export type AgentErrorCode = 'AGENT_CONFIG' | 'AGENT_AUTODETECT' | 'DATAPLANE_UNAVAILABLE';

export class AgentError extends TabbyError {
  declare readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
