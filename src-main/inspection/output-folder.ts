/**
 * The output folder of an inspection (`bgad inspect --out`, the app's run folders):
 * - it must be a folder (an existing file is refused, naming it), and it must not be the input
 *   folder or hold the input folder (the scan would read our own heat maps and thumbnails);
 *   when it lies inside the input, the scan skips it (see scan.ts);
 * - one inspection at a time writes into it: `.bgad-inspect.lock`, created with O_EXCL, holds
 *   the pid, host and start time of its owner. A lock whose process is gone (same host, pid
 *   not running) is stale and taken over; a live one is refused with CONFLICT naming it. The
 *   owner removes it at the end (also after an error or a cancel).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../common/errors';

export const LOCK_FILE = '.bgad-inspect.lock';

/** The subfolders of an output folder that inspection writes pictures into. */
export const OUTPUT_SUBFOLDERS = ['heatmaps', 'thumbs'];

/** What the lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  /** Who holds it, in words (e.g. "bgad inspect"). */
  command?: string;
  /** Random: tells this lock from a later one of the same pid. */
  token?: string;
}

export interface OutputLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Removes the lock when it is still ours. */
  release(): Promise<void>;
}

type BigStats = Awaited<ReturnType<typeof statBig>>;
const statBig = (p: string) => stat(p, { bigint: true });
const sameObject = (a: BigStats, b: BigStats) => a.dev === b.dev && a.ino === b.ino && a.ino !== 0n;
/** Path spelling compared as the platform does (case-insensitive on Windows and macOS): for file systems without inode numbers. */
const samePath = (a: string, b: string) => (process.platform === 'win32' || process.platform === 'darwin' ? a.toLowerCase() === b.toLowerCase() : a === b);

async function tryStat(p: string): Promise<BigStats | null> {
  try {
    return await statBig(p);
  } catch {
    return null;
  }
}

/**
 * Refuses an output that is an existing file (or lies below one), the input folder itself, or
 * one whose picture folders (heatmaps/, thumbs/) hold the input folder. Compares the folders themselves (device and inode), so
 * links and other spellings of the same folder are caught too. A missing input is left to the
 * scan to report.
 */
export async function checkOutputFolder(input: string, out: string): Promise<void> {
  const outPath = resolve(out);
  const inPath = resolve(input);
  // the output, or the first part of its path that exists, must be a folder
  for (let p = outPath; ; p = dirname(p)) {
    const st = await tryStat(p);
    if (st) {
      if (!st.isDirectory()) {
        throw new AppError('BAD_ARGUMENT', p === outPath ? `The output ${outPath} is a file, not a folder.` : `The output folder ${outPath} cannot be created: ${p} is a file, not a folder.`, {
          hint: 'Give a folder for --out (it is created when missing).',
          subject: outPath,
        });
      }
      break;
    }
    if (dirname(p) === p) break;
  }
  const outSt = await tryStat(outPath);
  const inSt = await tryStat(inPath);
  if (!outSt || !inSt) return;
  if (sameObject(outSt, inSt) || samePath(outPath, inPath)) {
    throw new AppError('BAD_ARGUMENT', `The output folder ${outPath} is the input folder: the output folder would be scanned, and its heat maps and thumbnails inspected.`, {
      hint: 'Write the results to another folder (e.g. a new folder next to the images).',
      subject: outPath,
    });
  }
  let real: string;
  try {
    real = await realpath(inPath);
  } catch {
    return;
  }
  // An input inside the output folder is fine (e.g. --out D:/line2 --input D:/line2/today: the
  // outputs land beside it), unless it lies in the folders the outputs are written to.
  const written = await Promise.all(OUTPUT_SUBFOLDERS.map(async (d) => ({ path: join(outPath, d), st: await tryStat(join(outPath, d)) })));
  for (const start of [real, inPath]) for (let p = start; ; p = dirname(p)) {
    const st = await tryStat(p);
    const hit = written.find((w) => samePath(p, w.path) || (st && w.st && sameObject(st, w.st)));
    if (hit) {
      throw new AppError('BAD_ARGUMENT', `The input folder ${inPath} lies inside ${hit.path}, where this output folder's pictures are written: they would be inspected.`, {
        hint: 'Inspect the folder of the original images, or write the results to another output folder.',
        subject: outPath,
      });
    }
    if (dirname(p) === p) break;
  }
}

function writeError(path: string, what: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return new AppError('DISK_FULL', `The disk is full: cannot ${what} ${path}.`, { hint: 'Free some disk space and run the same command again.', subject: path, cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AppError('READ_ONLY', `Cannot ${what} ${path}: ${code === 'EROFS' ? 'the file system is read-only' : 'permission denied'}.`, {
      hint: 'Choose an output folder you can write to.',
      subject: path,
      cause: e,
    });
  }
  if (code === 'EEXIST' || code === 'ENOTDIR') {
    return new AppError('BAD_ARGUMENT', `Cannot ${what} ${path}: a file is in the way (${code}).`, { hint: 'Give a folder for --out (it is created when missing).', subject: path, cause: e });
  }
  return e;
}

/** Creates the output folder (and its parents), with a named error when it cannot be. */
export async function makeOutputFolder(out: string): Promise<void> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw writeError(out, 'create the output folder', e);
  }
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    return typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string' ? { startedAt: '?', ...v } as LockInfo : null;
  } catch {
    return null;
  }
}

/** True unless the lock's process is known to be gone (same host, no such pid). */
function holderAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // another machine (a shared folder): cannot tell
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: it runs, as another user
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock file that stays empty or unreadable this long was left by a process that died while writing it. */
const TORN_LOCK_MS = 5000;

/**
 * Takes the lock of an output folder (which must exist). Throws CONFLICT naming the holder when
 * another live inspection holds it.
 */
export async function lockOutputFolder(out: string, opts: { command?: string } = {}): Promise<OutputLock> {
  const path = join(out, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: opts.command ?? 'inspection', token: randomBytes(8).toString('hex') };
  const text = JSON.stringify(info) + '\n';
  const t0 = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
      try {
        await fh.writeFile(text);
      } finally {
        await fh.close();
      }
      return { path, info, release: () => releaseLock(path, info.token!) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(path, 'create the lock file', e);
    }
    let held: string;
    try {
      held = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw writeError(path, 'read the lock file', e);
    }
    const holder = parseLock(held);
    if (holder && holderAlive(holder)) {
      throw new AppError(
        'CONFLICT',
        `The output folder ${out} is in use by another inspection (pid ${holder.pid} on ${holder.host}${holder.command ? `, ${holder.command}` : ''}, started ${holder.startedAt}).`,
        {
          hint: `Wait for it to finish or stop it, or choose another output folder. If no such process runs${holder.host !== hostname() ? ` on ${holder.host}` : ''}, delete ${path}.`,
          subject: out,
        },
      );
    }
    if (!holder && Date.now() - t0 < TORN_LOCK_MS) {
      await sleep(100); // being written by its owner right now, or torn: look again
      continue;
    }
    if (attempt > 20) throw new AppError('CONFLICT', `Cannot take the lock ${path}: other processes keep taking it.`, { hint: 'Run one inspection per output folder.', subject: out });
    await takeOver(path, held);
  }
}

/** Removes a stale lock, taking care not to remove a fresh one that another process made meanwhile. */
async function takeOver(path: string, stale: string): Promise<void> {
  const grave = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, grave);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw writeError(path, 'replace the stale lock file', e);
  }
  const moved = await readFile(grave, 'utf8').catch(() => null);
  if (moved !== stale) {
    // a new lock was taken between our read and the rename: put it back (unless yet another exists)
    await link(grave, path).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') await rename(grave, path).catch(() => undefined);
    });
  }
  await unlink(grave).catch(() => undefined);
}

async function releaseLock(path: string, token: string): Promise<void> {
  try {
    const held = parseLock(await readFile(path, 'utf8'));
    if (held?.token === token) await unlink(path);
  } catch {
    // already gone, or the folder went away: nothing to release
  }
}

/**
 * Whether `dir` is the output folder of an inspection: it holds a `results.jsonl` whose first
 * line is our header. Reads at most 256 bytes, and only from a regular file (never blocks).
 */
export async function isInspectionOutput(dir: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(join(dir, 'results.jsonl'), fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch {
    return false;
  }
  try {
    if (!(await fh.stat()).isFile()) return false;
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return /^\{"type":"header","version":\d+,/.test(buf.subarray(0, bytesRead).toString('utf8'));
  } catch {
    return false;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Heat-map and overlay pictures are named `<image name>.map.png`, `.overlay.png`, `.overlay.jpg`: never inspected. */
const OWN_PICTURE = /\.(map\.png|overlay\.png|overlay\.jpg)$/i;

export function isOwnPictureName(name: string): boolean {
  return OWN_PICTURE.test(name);
}
