/** Errors the stack reports to a person: `code` is stable, the message says what to do. */
export class StackError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StackError';
    this.code = code;
  }
}
