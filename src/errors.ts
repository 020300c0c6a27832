/**
 * The base of tabby's error hierarchy. Every error a user can meet has a stable `code`
 * (for scripts and tests) and a message that says what went wrong and how to fix it.
 * Modules subclass it; the CLI prints `error: <message>` and exits non-zero.
 */
export class TabbyError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
