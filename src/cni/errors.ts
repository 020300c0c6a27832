import { TabbyError } from '../errors.js';
import { LATEST_VERSION } from './versions.js';

/**
 * CNI error codes. 1-99 are the spec's (SPEC.md "Error codes"); 100 and above are tabby's
 * own and documented in docs/design/cni.md. The numbers are API: runtimes and scripts
 * branch on them, so never renumber.
 */
export const CniCode = {
  /** The config's cniVersion is not one tabby-cni supports, or the verb needs a newer one. */
  IncompatibleVersion: 1,
  /** A field in the network config is not supported (e.g. a foreign `ipam.type`). */
  UnsupportedField: 2,
  /** The container/attachment is unknown to the agent (CHECK); DEL treats it as done. */
  UnknownContainer: 3,
  /** A CNI_* environment variable is missing or malformed, or CNI_NETNS is not a netns. */
  InvalidEnvironment: 4,
  /** Reading stdin or talking to the agent failed half-way. */
  IoFailure: 5,
  /** stdin (or prevResult) is not the JSON it should be. */
  DecodingFailure: 6,
  /** The network config misses a required field or has a wrong value. */
  InvalidNetworkConfig: 7,
  /** Transient: the agent is not reachable (not running yet, restarting). */
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD now. */
  NotAvailable: 50,
  /** STATUS: not available and existing containers may have limited connectivity. */
  NotAvailableLimitedConnectivity: 51,
  /** The agent failed unexpectedly; its log has the details. */
  AgentInternal: 100,
  /** Every IP pool usable by this pod is full. */
  PoolExhausted: 101,
  /** No IP pool is configured or none matches this pod/node. */
  NoMatchingPool: 102,
  /** The agent could not reach the datastore (etcd). */
  DatastoreUnavailable: 103,
  /** The agent did not answer within timeout_seconds. */
  AgentTimeout: 104,
  /** The agent answered something that is not the tabby CNI protocol. */
  AgentProtocol: 105,
  /** The dataplane did not program the endpoint; ADD was rolled back. */
  DataplaneNotReady: 106,
} as const;

export type CniCodeName = keyof typeof CniCode;

const NAMES = new Map<number, string>(Object.entries(CniCode).map(([k, v]) => [v, k]));

/** The JSON object printed on stdout (and carried in agent answers) for a failure. */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/**
 * A failure expressed in CNI terms. `msg` says what happened and where; `details` says how
 * to fix it or carries the underlying cause. The TabbyError code is `CNI_<number>`.
 */
export class CniError extends TabbyError {
  readonly cniCode: number;
  readonly msg: string;
  readonly details: string;

  constructor(cniCode: number, msg: string, details = '', options?: { cause?: unknown }) {
    super(`CNI_${cniCode}`, details ? `${msg}: ${details}` : msg, options);
    this.cniCode = cniCode;
    this.msg = msg;
    this.details = details;
  }

  /** The symbolic name of the code (e.g. `TryAgainLater`), or undefined for unknown codes. */
  get codeName(): string | undefined {
    return NAMES.get(this.cniCode);
  }

  toJSON(cniVersion: string = LATEST_VERSION): CniErrorJson {
    const out: CniErrorJson = { cniVersion, code: this.cniCode, msg: this.msg };
    if (this.details) out.details = this.details;
    return out;
  }

  /** Rebuilds an error from its wire form (agent answers); undefined when it is not one. */
  static fromJSON(v: unknown): CniError | undefined {
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o.code !== 'number' || !Number.isInteger(o.code) || o.code < 1 || typeof o.msg !== 'string') {
      return undefined;
    }
    return new CniError(o.code, o.msg, typeof o.details === 'string' ? o.details : '');
  }
}
