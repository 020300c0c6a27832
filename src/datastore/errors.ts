import { TabbyError } from '../errors.js';

/** A compare-and-swap lost: the key exists (create) or changed since it was read (update/delete). */
export class ConflictError extends TabbyError {
  constructor(readonly key: string, readonly reason: 'ALREADY_EXISTS' | 'REVISION_MISMATCH' | 'NOT_FOUND', message?: string) {
    super(reason, message ?? `datastore conflict on ${key}: ${reason.toLowerCase().replaceAll('_', ' ')}`);
  }
}

/** The datastore could not be reached or did not answer in time; the operation may not have happened. */
export class DatastoreUnavailableError extends TabbyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATASTORE_UNAVAILABLE', message, options);
  }
}

/** The datastore configuration is wrong (unsupported type, bad URL, unreadable file); the message says which and how to fix it. */
export class DatastoreConfigError extends TabbyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATASTORE_CONFIG', message, options);
  }
}
