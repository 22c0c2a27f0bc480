/**
 * The key of the inference API for line controllers (`bgad serve --api`: `/v1/inspect`,
 * `/v1/health`): one random value kept in the data folder (`api-key`, owner-only: 0600),
 * created once and kept across restarts until `bgad api-key --rotate` replaces it. It is not
 * the browser token (that one is new at every start of `bgad serve`).
 *
 * The file is written the one atomic way (fs/atomic-file.ts: a temp file in the same folder,
 * fsynced, renamed into place, the folder fsynced), the temp file created 0600 from the start
 * so the key is never readable by others, not even for a moment.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../common/errors';
import { commitTempFileSync, removeQuietly, tempPathFor } from '../fs/atomic-file';
import { dataFileErrors, ioError } from './files';
import { storageError } from './storage-errors';

/** The key's file name inside the data folder. */
export const API_KEY_FILE = 'api-key';

/** Owner read/write only. */
export const API_KEY_MODE = 0o600;

const KEY_PATTERN = /^[A-Za-z0-9_-]{32,256}$/;

export function apiKeyPath(dataDir: string): string {
  return join(dataDir, API_KEY_FILE);
}

/** A new key: 32 random bytes, base64url (43 characters). */
export function newApiKey(): string {
  return randomBytes(32).toString('base64url');
}

/** The key and what the file looks like on disk. */
export interface StoredApiKey {
  key: string;
  file: string;
  /** The file's permission bits (POSIX; meaningless on Windows). */
  mode: number;
}

/**
 * The stored key, or null when there is none yet. Only reads: works in a read-only data
 * folder. A damaged file (not a key) is refused with the way out.
 */
export function readApiKey(dataDir: string): StoredApiKey | null {
  const file = apiKeyPath(dataDir);
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageError(e, { path: file, action: 'read the API key' }) ?? new AppError('IO_ERROR', `Cannot read the API key ${file}: ${(e as Error).message}`, { subject: file, cause: e });
  }
  const key = text.trim();
  if (!KEY_PATTERN.test(key)) {
    throw new AppError('BAD_ARGUMENT', `The API key file ${file} does not hold a key.`, { subject: file, hint: 'Make a new key with: bgad api-key --rotate' });
  }
  return { key, file, mode };
}

/** Writes `key` as the data folder's API key (0600, atomically). */
export function writeApiKey(dataDir: string, key: string): StoredApiKey {
  if (!KEY_PATTERN.test(key)) throw new AppError('BAD_ARGUMENT', 'An API key is 32 to 256 characters of A-Z, a-z, 0-9, "-" and "_".');
  const file = apiKeyPath(dataDir);
  const errors = dataFileErrors('the API key');
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (e) {
    throw ioError(e, 'the API key', file);
  }
  const tmp = tempPathFor(file);
  try {
    // created owner-only ('wx': a new file; the mode applies at creation, before any byte is in it)
    const fd = openSync(tmp, 'wx', API_KEY_MODE);
    try {
      const bytes = Buffer.from(key + '\n', 'utf8');
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } finally {
      closeSync(fd);
    }
    // a umask cannot widen the mode, but an odd file system may ignore it: set it explicitly
    if (process.platform !== 'win32') chmodSync(tmp, API_KEY_MODE);
  } catch (e) {
    removeQuietly(tmp);
    throw ioError(e, 'the API key', file);
  }
  commitTempFileSync(tmp, file, errors);
  return { key, file, mode: API_KEY_MODE };
}

/**
 * The data folder's key, created when there is none. A key file that others may read (copied
 * in by hand, say) is made owner-only again where that is possible.
 */
export function ensureApiKey(dataDir: string): StoredApiKey & { created: boolean } {
  const stored = readApiKey(dataDir);
  if (!stored) return { ...writeApiKey(dataDir, newApiKey()), created: true };
  if (process.platform !== 'win32' && (stored.mode & 0o077) !== 0) {
    try {
      chmodSync(stored.file, API_KEY_MODE);
      stored.mode = API_KEY_MODE;
    } catch {
      // a read-only folder: the key still works; `bgad api-key` shows the mode
    }
  }
  return { ...stored, created: false };
}

/** Replaces the key with a new one; the old one stops working at the next request. */
export function rotateApiKey(dataDir: string): StoredApiKey {
  return writeApiKey(dataDir, newApiKey());
}

/** Whether the data folder has a key (without reading it). */
export function hasApiKey(dataDir: string): boolean {
  return existsSync(apiKeyPath(dataDir));
}

/**
 * Compares a presented key with the stored one in constant time: both are hashed first, so
 * neither the content nor the length of the stored key shows in the timing.
 */
export function apiKeyMatches(given: string | undefined | null, key: string): boolean {
  if (typeof given !== 'string' || given.length === 0 || given.length > 1024) return false;
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(key, 'utf8').digest();
  return timingSafeEqual(a, b);
}
