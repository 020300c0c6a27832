import { TabbyError } from '../errors.js';

/**
 * A selector did not parse. `position` is the 0-based character offset in `selector` where
 * the problem was found (the length of the text when the problem is a premature end).
 */
export class SelectorSyntaxError extends TabbyError {
  readonly position: number;
  readonly selector: string;
  /** The bare reason, without the selector text or position, e.g. "expected a quoted string". */
  readonly reason: string;

  constructor(selector: string, position: number, reason: string) {
    super('SELECTOR_SYNTAX', `selector ${JSON.stringify(selector)} : ${reason} at position ${position}`);
    this.position = position;
    this.selector = selector;
    this.reason = reason;
  }
}
