/**
 * Files beside the database: written atomically (temp file in the same folder, fsync,
 * rename, fsync of the folder), so a crash leaves either the old file or the new one,
 * never a torn one. Rows that reference a file are written only after it is in place.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AppError, isAppError } from '../common/errors';
import { storageError } from './storage-errors';

/** A temp path in the same folder as `finalPath` (same file system, so rename is atomic). */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function fsyncPath(path: string, isDir: boolean): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch (e) {
    // Some platforms (Windows) cannot open or fsync a folder; the rename is still atomic there.
    if (!isDir) throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The named error for a failed write of a file beside the database (DISK_FULL, READ_ONLY, IO_ERROR). */
export function ioError(e: unknown, what: string, path: string): AppError {
  if (isAppError(e)) return e;
  return (
    storageError(e, { path, action: `write ${what}` }) ??
    new AppError('BAD_ARGUMENT', `Could not write ${what} ${path}: ${(e as Error).message}`, { hint: 'Check that the data folder is writable.', subject: path, cause: e })
  );
}

/** Removes a file if it is there, ignoring failures (a read-only or failing disk): cleanup must not hide the error being reported. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // left for the temp-file sweep at the next writable open
  }
}

/** Moves a fully written temp file into place: fsync it, rename over the target, fsync the folder. */
export function commitTempFile(tempPath: string, finalPath: string, what = 'the file'): void {
  try {
    fsyncPath(tempPath, false);
    renameSync(tempPath, finalPath);
    fsyncPath(dirname(finalPath), true);
  } catch (e) {
    removeQuietly(tempPath);
    throw ioError(e, what, finalPath);
  }
}

/** Writes `data` to `finalPath` atomically, creating the folder when missing. */
export function writeFileAtomic(finalPath: string, data: Uint8Array, what = 'the file'): void {
  const tmp = tempPathFor(finalPath);
  try {
    mkdirSync(dirname(finalPath), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, finalPath);
    fsyncPath(dirname(finalPath), true);
  } catch (e) {
    removeQuietly(tmp);
    throw ioError(e, what, finalPath);
  }
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
