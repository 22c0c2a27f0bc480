/**
 * The one way this product replaces a file: durably and atomically. The bytes go to a temp
 * file in the same folder (same file system, so the rename is atomic), which is fsynced,
 * renamed over the target, and the folder fsynced, so a crash or power cut leaves either
 * the old file or the new one, never a torn one, and a rename that was reported is on disk.
 * Model bundles, masks, backbones, feature-cache entries, heat maps and reports all go
 * through here.
 *
 * Two flavours of the same steps: `writeFileAtomic` (async: the writes and fsyncs run in
 * libuv's thread pool, so an inspection keeps scoring while its pictures are written) and
 * `writeFileAtomicSync` (for code inside a synchronous SQLite transaction, e.g. rewriting a
 * model bundle's threshold together with its database row).
 *
 * Temp files written another way (the PDF report's stream, SQLite's backup) are named with
 * `tempPathFor` and moved into place with `commitTempFile` / `commitTempFileSync`.
 *
 * Errors: the temp file is removed, then the caller's `mapError` names the failure in its own
 * words (the data folder's DISK_FULL / READ_ONLY / IO_ERROR, db/files.ts `dataFileErrors`);
 * without one, a full disk becomes DISK_FULL ("The disk is full while writing ...") and any
 * other failure is passed on as it is.
 *
 * Temp names are `.<name>.<pid>.<8 hex>.tmp`, which the data folder's sweep of leftovers
 * recognises (db/maintenance.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../common/errors';

export interface AtomicWriteOptions {
  /** Turns a failure into the caller's error (the temp file is already removed). */
  mapError?: (error: unknown, path: string) => unknown;
}

/** A temp path in the same folder as `finalPath` (same file system, so rename is atomic). */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** The default error of a failed write: a full disk is named, anything else passed on. */
export function defaultWriteError(e: unknown, path: string): unknown {
  if ((e as NodeJS.ErrnoException | null)?.code === 'ENOSPC') {
    return new AppError('DISK_FULL', `The disk is full while writing ${path}.`, { hint: 'Free some disk space and try again.', subject: path, cause: e });
  }
  return e;
}

const mapped = (e: unknown, path: string, opts: AtomicWriteOptions): unknown => (opts.mapError ?? defaultWriteError)(e, path);

/** Removes a file if it is there, ignoring failures (a read-only or failing disk): cleanup must not hide the error being reported. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // left for the temp-file sweep at the next writable open
  }
}

function fsyncPathSync(path: string, isDir: boolean): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, isDir ? 'r' : 'r+'); // Windows flushes only a file opened for writing
    fsyncSync(fd);
  } catch (e) {
    // Some platforms (Windows) cannot open or fsync a folder; the rename is still atomic there.
    if (!isDir) throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function fsyncDir(path: string): Promise<void> {
  try {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some platforms (Windows) cannot open or fsync a folder; the rename is still atomic there.
  }
}

/** Moves a fully written temp file into place: fsync it, rename over the target, fsync the folder. */
export function commitTempFileSync(tempPath: string, finalPath: string, opts: AtomicWriteOptions = {}): void {
  try {
    fsyncPathSync(tempPath, false);
    renameSync(tempPath, finalPath);
    fsyncPathSync(dirname(finalPath), true);
  } catch (e) {
    removeQuietly(tempPath);
    throw mapped(e, finalPath, opts);
  }
}

/** The same for a temp file written some other way (a stream): fsync it, rename over the target, fsync the folder. */
export async function commitTempFile(tempPath: string, finalPath: string, opts: AtomicWriteOptions = {}): Promise<void> {
  try {
    const fh = await open(tempPath, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tempPath, finalPath);
    await fsyncDir(dirname(finalPath));
  } catch (e) {
    await rm(tempPath, { force: true }).catch(() => undefined);
    throw mapped(e, finalPath, opts);
  }
}

/** Writes `data` to `finalPath` durably and atomically, creating the folder when missing (synchronous). */
export function writeFileAtomicSync(finalPath: string, data: Uint8Array, opts: AtomicWriteOptions = {}): void {
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
    fsyncPathSync(dirname(finalPath), true);
  } catch (e) {
    removeQuietly(tmp);
    throw mapped(e, finalPath, opts);
  }
}

/** Writes `data` to `finalPath` durably and atomically, creating the folder when missing. */
export async function writeFileAtomic(finalPath: string, data: Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPathFor(finalPath);
  try {
    await mkdir(dirname(finalPath), { recursive: true });
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, finalPath);
    await fsyncDir(dirname(finalPath));
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw mapped(e, finalPath, opts);
  }
}
