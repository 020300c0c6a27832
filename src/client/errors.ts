import { TabbyError } from '../errors.js';

/** create of something that exists, replace/delete/get of something that does not, or a stale resourceVersion. */
export class ResourceConflictError extends TabbyError {
  constructor(code: 'ALREADY_EXISTS' | 'NOT_FOUND' | 'STALE' | 'IMMUTABLE' | 'OVERLAP', message: string) {
    super(code, message);
  }
}
