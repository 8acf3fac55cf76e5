/**
 * The project's one error type. `code` is machine-readable (stable, SCREAMING_SNAKE), `retriable`
 * tells the stage runtime whether trying again can help, and `status` is the HTTP answer when the
 * error reaches the facade.
 */
export class MsgxcError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    options: { retriable?: boolean; status?: number; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'MsgxcError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.status = options.status ?? (this.retriable ? 503 : 400);
    this.details = options.details;
  }
}

export const permanent = (code: string, message: string, details?: Record<string, unknown>) =>
  new MsgxcError(code, message, { retriable: false, details });

export const retriable = (code: string, message: string, cause?: unknown) =>
  new MsgxcError(code, message, { retriable: true, cause });

/** Errors not raised by msgxc are treated as retriable: a network blip must not dead-letter a record. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof MsgxcError) return error.retriable;
  return true;
}

export function errorCode(error: unknown): string {
  if (error instanceof MsgxcError) return error.code;
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : 'UNKNOWN';
}
