/**
 * Files beside the database: how rows reference them (data-folder-relative paths) and how a
 * failed write of one is named. They are written with the one atomic writer
 * (fs/atomic-file.ts: temp file in the same folder, fsync, rename, fsync of the folder), so a
 * crash leaves either the old file or the new one, never a torn one. Rows that reference a
 * file are written only after it is in place.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { AppError, isAppError } from '../common/errors';
import type { AtomicWriteOptions } from '../fs/atomic-file';
import { storageError } from './storage-errors';

/** The named error for a failed write of a file beside the database (DISK_FULL, READ_ONLY, IO_ERROR). */
export function ioError(e: unknown, what: string, path: string): AppError {
  if (isAppError(e)) return e;
  return (
    storageError(e, { path, action: `write ${what}` }) ??
    new AppError('BAD_ARGUMENT', `Could not write ${what} ${path}: ${(e as Error).message}`, { hint: 'Check that the data folder is writable.', subject: path, cause: e })
  );
}

/** Options for fs/atomic-file.ts that name a failed write of `what` the data folder's way (ioError). */
export function dataFileErrors(what: string): AtomicWriteOptions {
  return { mapError: (e, path) => ioError(e, what, path) };
}

/** A data-folder-relative reference (always with forward slashes) for a file inside `root`. */
export function toDataRef(root: string, absPath: string): string {
  const rel = relative(root, absPath);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${absPath} is not inside the data folder ${root}`);
  return rel.split(sep).join('/');
}

/** The absolute path of a data-folder-relative reference; refuses references that escape the folder. */
export function fromDataRef(root: string, ref: string): string {
  const abs = resolve(root, ...ref.split('/'));
  const rel = relative(root, abs);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new AppError('BAD_ARGUMENT', `The file reference "${ref}" points outside the data folder.`, { subject: ref });
  }
  return abs;
}
