/**
 * Expected failures carry a stable code and a message an engineer can act on
 * ("what happened, to which file, and what to do"). Bugs are plain Errors.
 */
export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'NOT_FOUND'
  | 'BAD_MODEL'
  | 'BAD_BACKBONE'
  | 'BAD_DATASET'
  | 'MISSING_MASK'
  | 'DISK_FULL'
  /** The data folder, a file in it, or the disk is read-only or not writable (EROFS, EACCES, SQLITE_READONLY). */
  | 'READ_ONLY'
  /** The disk failed in another way while reading or writing data (SQLITE_IOERR that is neither full nor read-only). */
  | 'IO_ERROR'
  | 'DB_TOO_NEW'
  /** The database's schema is older than a command needs; `bgad db migrate` brings it up to date. */
  | 'DB_TOO_OLD'
  | 'CANCELLED'
  | 'ENGINE_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'UNAVAILABLE';

export class AppError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it, in words. */
  readonly hint?: string;
  /** File or object the error is about, when there is one. */
  readonly subject?: string;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; subject?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = opts.hint;
    this.subject = opts.subject;
  }

  /** One line for logs and terminals: message, then the fix. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message, hint: this.hint, subject: this.subject };
  }
}

export interface SerializedError {
  code: ErrorCode | 'INTERNAL';
  message: string;
  hint?: string;
  subject?: string;
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError || (typeof e === 'object' && e !== null && (e as { name?: string }).name === 'AppError');
}

export function serializeError(e: unknown): SerializedError {
  if (isAppError(e)) return { code: e.code, message: e.message, hint: e.hint, subject: e.subject };
  const msg = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message: msg };
}

/** The inverse of serializeError, for errors that crossed a process boundary. */
export function deserializeError(e: SerializedError): Error {
  if (e.code === 'INTERNAL') return new Error(e.message);
  return new AppError(e.code, e.message, { hint: e.hint, subject: e.subject });
}

export function cancelled(what = 'The operation'): AppError {
  return new AppError('CANCELLED', `${what} was cancelled.`);
}
