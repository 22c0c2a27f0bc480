/**
 * Storage failures (a full disk, a read-only folder or disk, a failing disk) turned into
 * named AppErrors that say which path and what to do, instead of a raw ENOSPC or
 * "SqliteError: disk I/O error" with a stack trace.
 *
 * SQLite does not pass on the errno behind SQLITE_IOERR_* / SQLITE_CANTOPEN, so for those
 * the folder is looked at after the failure: no free space means DISK_FULL, not writable
 * means READ_ONLY, anything else is IO_ERROR.
 */
import { accessSync, constants, existsSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError, isAppError } from '../common/errors';

export type StorageProblem = 'DISK_FULL' | 'READ_ONLY' | 'IO_ERROR';

/** Below this much free space a failed write is reported as a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

const errCode = (e: unknown): string => String((e as { code?: unknown } | null)?.code ?? '');

/** The nearest folder that exists at or above `path`. */
function existingFolder(path: string): string {
  let p = path;
  for (let i = 0; i < 64; i++) {
    try {
      if (statSync(p).isDirectory()) return p;
    } catch {
      // not there (yet)
    }
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/** Free bytes for this user on the disk holding `path`, or null when unknown. */
export function freeBytes(path: string): number | null {
  try {
    const s = statfsSync(existingFolder(path));
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/** Whether the folder holding `path` (and the file itself, when it exists) can be written now. */
function writable(path: string): boolean {
  const dir = existingFolder(path);
  try {
    accessSync(dir, constants.W_OK); // EROFS even for root on a read-only mount
    if (dir !== path && existsSync(path)) accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** What is wrong with the place `path` lives in right now (looked at after a failure), if anything. */
export function diagnoseStorage(path: string): 'DISK_FULL' | 'READ_ONLY' | null {
  if (!writable(path)) return 'READ_ONLY';
  const free = freeBytes(path);
  if (free !== null && free < NEARLY_FULL_BYTES) return 'DISK_FULL';
  return null;
}

/** Classifies an error thrown by fs or better-sqlite3; null when it is not a storage failure. */
export function classifyStorageError(e: unknown, path: string): StorageProblem | null {
  if (isAppError(e)) return null;
  const code = errCode(e);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' || code === 'SQLITE_FULL') return 'DISK_FULL';
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code.startsWith('SQLITE_AUTH')) {
    return 'READ_ONLY';
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code === 'EIO') return diagnoseStorage(path) ?? 'IO_ERROR';
  return null;
}

export function isStorageError(e: unknown, path = '.'): boolean {
  return classifyStorageError(e, path) !== null;
}

export interface StorageErrorContext {
  /** The file or folder the operation was about (named in the message). */
  path: string;
  /** What could not be done, e.g. "save the change to the database" (default by problem). */
  action?: string;
  /** The data folder, for the hint (default: the folder holding `path`). */
  dataDir?: string;
  /** The hint for a full disk, when the default (free space, read commands still work) does not fit. */
  fullHint?: string;
  /** The hint for a read-only place, when the default does not fit. */
  readOnlyHint?: string;
}

const READS_STILL_WORK =
  'Reading still works meanwhile: "bgad datasets", "bgad db info", "bgad db check", and "bgad db backup --out FILE" with FILE on another disk makes a copy.';

/** The named AppError for a storage failure, or null when `e` is something else. */
export function storageError(e: unknown, ctx: StorageErrorContext): AppError | null {
  const problem = classifyStorageError(e, ctx.path);
  if (!problem) return null;
  const detail = `${errCode(e) || 'error'}: ${(e as Error)?.message ?? String(e)}`;
  const opts = { subject: ctx.path, cause: e };
  const folder = ctx.dataDir ?? existingFolder(dirname(ctx.path));
  if (problem === 'DISK_FULL') {
    return new AppError('DISK_FULL', `The disk holding ${ctx.path} is full: could not ${ctx.action ?? 'save the change'} (${detail}).`, {
      ...opts,
      hint: ctx.fullHint ?? `Free some disk space and try again; what was saved before is intact. ${READS_STILL_WORK}`,
    });
  }
  const code = errCode(e);
  if (problem === 'READ_ONLY' && (code === 'EACCES' || code === 'EPERM') && /^read\b/.test(ctx.action ?? '')) {
    return new AppError('IO_ERROR', `${ctx.path} cannot be read (permission denied): could not ${ctx.action} (${detail}).`, {
      ...opts,
      hint: `Check the permissions of ${ctx.path} and its folder: this user must be able to read them.`,
    });
  }
  if (problem === 'READ_ONLY') {
    return new AppError('READ_ONLY', `${ctx.path} is read-only or not writable: could not ${ctx.action ?? 'save the change'} (${detail}).`, {
      ...opts,
      hint: ctx.readOnlyHint ?? `Make ${folder} writable again (its permissions, or remount the disk read-write), or choose another data folder with --data-dir. ${READS_STILL_WORK}`,
    });
  }
  return new AppError('IO_ERROR', `Could not ${ctx.action ?? 'read or write'} ${ctx.path}: the disk reported an error (${detail}).`, {
    ...opts,
    hint: 'Check the disk (free space, cable, network share) and try again; then run "bgad db check". Make a copy with "bgad db backup --out FILE" on another disk while it still reads.',
  });
}

/** `storageError(e, ctx)`, or `e` itself when it is not a storage failure. */
export function asStorageError(e: unknown, ctx: StorageErrorContext): unknown {
  return storageError(e, ctx) ?? e;
}
