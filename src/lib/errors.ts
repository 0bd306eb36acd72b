/** One entry of an error's details: which input was wrong and why. */
export interface ErrorDetail {
  /** A JSON-pointer-like path to the input at fault, e.g. `email`, `contacts/3/locale`, `line 17`. */
  field: string;
  message: string;
  /** For errors in a source text (a template), where in it. */
  line?: number;
  column?: number;
}

/**
 * Every failure Chapar reports. The `code` is stable and machine-readable; only `http/` maps codes
 * to status codes. Messages say what was wrong and, where it helps, what to do.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'import_failed'
  | 'config_invalid'
  | 'internal';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }
}

/** A 400-class error about one named input. */
export function invalid(field: string, message: string): AppError {
  return new AppError('validation_failed', `${field}: ${message}`, [{ field, message }]);
}

/** Marks a branch the type checker proves unreachable; throws if it is reached anyway. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
