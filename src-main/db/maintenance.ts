/**
 * `bgad db check` and `bgad db backup`: integrity checks and online backups; and the files a
 * killed process leaves in the data folder (temp files of atomic writes that never reached
 * their rename, mask files whose row was never committed).
 */
import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { AppError } from '../common/errors';
import { storageError } from './storage-errors';
import type { Db } from './database';
import { schemaVersion } from './database';
import { fromDataRef, toDataRef } from './files';
import { commitTempFileSync, tempPathFor } from '../fs/atomic-file';
import type { DataLayout } from './paths';

export interface CheckReport {
  ok: boolean;
  schemaVersion: number;
  /** `PRAGMA integrity_check` lines other than "ok". */
  integrity: string[];
  foreignKeys: { table: string; rowid: number | null; parent: string }[];
  /** Files the database references that are missing: `table.column #id -> path`. */
  missingFiles: { table: string; id: number; file: string }[];
  /** Mask files in masks/ that no row references (left by a crash or an old save); harmless. Temp files and symlinks are not counted. */
  orphanFiles: string[];
  /** Temp files of writes that never finished, whose process is gone (data-folder references); harmless, removed by the next writable open once a few minutes old. */
  tempFiles: string[];
  counts: Record<string, number>;
}

const FILE_COLUMNS = [
  ['masks', 'file'],
  ['model_versions', 'bundle_file'],
  ['inspection_results', 'heatmap_file'],
] as const;

/** Whether a process with this id exists on this machine (EPERM means it exists). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The names this app's atomic writer gives its temp files, with the writer's pid:
 * `.<name>.<pid>.<8 hex>.tmp` (fs/atomic-file.ts); data folders of earlier releases may also
 * hold `<name>.<pid>.<8 hex>.tmp` (images, reports) and `<name>.<pid>.tmp` (settings,
 * thumbnails). Nothing else is ever treated as a temp file.
 */
const TEMP_NAME = /\.(\d{1,10})(?:\.[0-9a-f]{8})?\.tmp$/;

/** The pid in a temp file's name, or null when the name is not one of this app's temp files. */
export function tempFileOwner(name: string): number | null {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

/** Temp files of a process that is still running are left alone unless older than this (its pid may have been reused). */
const TEMP_MAX_AGE_MS = 24 * 3600_000;
/** Temp files younger than this are never removed: a slow disk may still be writing them. */
export const TEMP_MIN_AGE_MS = 5 * 60_000;
/** Orphan mask files younger than this are never removed: a save may be about to reference them. */
export const ORPHAN_MIN_AGE_MS = 10 * 60_000;

/**
 * Regular files below `dir` (symlinks, to files or folders, are neither listed nor followed,
 * so nothing outside the data folder is ever reached). `filter` sees the file name.
 */
function listFiles(dir: string, out: string[], filter: (name: string) => boolean = () => true, depth = 0): void {
  if (depth > 16) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // missing or unreadable: nothing to list
  }
  for (const e of entries) {
    if (e.isSymbolicLink()) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) listFiles(p, out, filter, depth + 1);
    else if (e.isFile() && filter(e.name)) out.push(p);
  }
}

/** Whether `abs` lies inside `dir` (not `dir` itself). */
function isInside(dir: string, abs: string): boolean {
  const rel = relative(dir, abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && resolve(dir, rel) === abs;
}

interface TempFile { path: string; pid: number; mtimeMs: number; dead: boolean }

/** This app's temp files in the data folder: directly in it, and anywhere below its file folders. */
function findTempFiles(layout: DataLayout): TempFile[] {
  const paths: string[] = [];
  const isTemp = (name: string) => tempFileOwner(name) !== null;
  try {
    for (const e of readdirSync(layout.root, { withFileTypes: true })) if (e.isFile() && isTemp(e.name)) paths.push(join(layout.root, e.name));
  } catch {
    return [];
  }
  for (const d of [layout.masksDir, layout.bundlesDir, layout.heatmapsDir, layout.featuresDir, layout.backupsDir]) listFiles(d, paths, isTemp);
  const out: TempFile[] = [];
  for (const p of paths) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    const pid = tempFileOwner(p)!;
    out.push({ path: p, pid, mtimeMs: st.mtimeMs, dead: !isPidAlive(pid) || Date.now() - st.mtimeMs > TEMP_MAX_AGE_MS });
  }
  return out;
}

/** Temp files left by processes that are gone, as data-folder references (what `db check` reports). */
export function leftoverTempFiles(layout: DataLayout): string[] {
  return findTempFiles(layout).filter((t) => t.dead).map((t) => toDataRef(layout.root, t.path)).sort();
}

/**
 * Removes the temp files of processes that are gone once they are `minAgeMs` old (default
 * 5 minutes). Run by every writable open of the store. Best effort: a file that cannot be
 * removed (read-only disk) is left for the next time. Returns the references removed.
 */
export function removeLeftoverTempFiles(layout: DataLayout, minAgeMs = TEMP_MIN_AGE_MS): string[] {
  const removed: string[] = [];
  const cutoff = Date.now() - minAgeMs;
  for (const t of findTempFiles(layout)) {
    if (!t.dead || t.mtimeMs >= cutoff) continue;
    try {
      rmSync(t.path);
      removed.push(toDataRef(layout.root, t.path));
    } catch {
      // gone already, or the disk is read-only: next time
    }
  }
  return removed;
}

function referencedBy(db: Db, tables: Set<string>, ref: string): boolean {
  for (const [table, col] of FILE_COLUMNS) {
    if (tables.has(table) && db.prepare(`SELECT 1 FROM ${table} WHERE ${col} = ? LIMIT 1`).get(ref) !== undefined) return true;
  }
  return false;
}

function tableNames(db: Db): Set<string> {
  return new Set((db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
}

export function checkDatabase(db: Db, layout: DataLayout): CheckReport {
  const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((l) => l !== 'ok');
  const foreignKeys = (db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[]).map((r) => ({ table: r.table, rowid: r.rowid, parent: r.parent }));
  const tables = tableNames(db);
  const missingFiles: CheckReport['missingFiles'] = [];
  const referenced = new Set<string>();
  for (const [table, col] of FILE_COLUMNS) {
    if (!tables.has(table)) continue;
    for (const r of db.prepare(`SELECT id, ${col} AS file FROM ${table} WHERE ${col} IS NOT NULL`).iterate() as Iterable<{ id: number; file: string }>) {
      referenced.add(r.file);
      let abs: string;
      try {
        abs = fromDataRef(layout.root, r.file);
      } catch {
        missingFiles.push({ table, id: r.id, file: r.file });
        continue;
      }
      if (!existsSync(abs)) missingFiles.push({ table, id: r.id, file: r.file });
    }
  }
  const maskFiles: string[] = [];
  listFiles(layout.masksDir, maskFiles, (name) => tempFileOwner(name) === null);
  const orphanFiles = maskFiles.map((f) => toDataRef(layout.root, f)).filter((f) => !referenced.has(f)).sort();
  const counts: Record<string, number> = {};
  for (const t of ['datasets', 'images', 'masks', 'defect_types', 'model_versions', 'training_runs', 'inspection_runs', 'inspection_results', 'import_runs', 'audit_log']) {
    if (tables.has(t)) counts[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  }
  return {
    ok: integrity.length === 0 && foreignKeys.length === 0 && missingFiles.length === 0,
    schemaVersion: schemaVersion(db),
    integrity,
    foreignKeys,
    missingFiles,
    orphanFiles,
    tempFiles: leftoverTempFiles(layout),
    counts,
  };
}

/**
 * Deletes the given unreferenced mask files (`bgad db check --remove-orphans`), each only
 * if, at the moment of deleting, it is still a regular file inside masks/ (not a symlink,
 * not a temp file), at least `minAgeMs` old (younger ones may belong to a save in progress;
 * default 10 minutes), and no row of `db` references it. Returns how many were deleted.
 */
export function removeOrphanFiles(layout: DataLayout, orphans: string[], minAgeMs: number | undefined, db: Db): number {
  let n = 0;
  const cutoff = Date.now() - (minAgeMs ?? ORPHAN_MIN_AGE_MS);
  const tables = tableNames(db);
  for (const ref of orphans) {
    let abs: string;
    try {
      abs = fromDataRef(layout.root, ref);
    } catch {
      continue; // points outside the data folder
    }
    if (!isInside(layout.masksDir, abs) || tempFileOwner(abs) !== null) continue;
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st?.isFile() || st.mtimeMs >= cutoff) continue;
    if (referencedBy(db, tables, ref)) continue;
    rmSync(abs, { force: true });
    n++;
  }
  return n;
}

/**
 * An online backup of the database (readers and writers may keep working) into `outFile`,
 * written to a temp file and renamed into place. Refuses to overwrite an existing file.
 * `sourceFile`: the database file when `db` reads a copy of it (a read-only snapshot).
 */
export async function backupDatabase(db: Db, outFile: string, opts: { overwrite?: boolean; sourceFile?: string } = {}): Promise<{ file: string; bytes: number; pages: number }> {
  const out = resolve(outFile);
  if (existsSync(out) && !opts.overwrite) {
    throw new AppError('CONFLICT', `The backup file ${out} already exists.`, { hint: 'Choose a new file name; backups never overwrite.', subject: out });
  }
  if (out === resolve(opts.sourceFile ?? db.name)) throw new AppError('BAD_ARGUMENT', 'The backup file cannot be the database itself.');
  const tmp = tempPathFor(out);
  let pages = 0;
  try {
    mkdirSync(dirname(out), { recursive: true });
    const r = await db.backup(tmp);
    pages = r.totalPages;
    commitTempFileSync(tmp, out, { mapError: (e) => e }); // fsync, rename, fsync the folder; named below
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing more can be done on a read-only disk
    }
    throw (
      storageError(e, {
        path: out,
        action: 'write the backup',
        fullHint: 'Free some space there, or back up to another disk: bgad db backup --out FILE (the database itself is only read).',
        readOnlyHint: 'Back up to a writable place instead: bgad db backup --out FILE (another disk or a USB stick; the database itself is only read).',
      }) ?? new AppError('BAD_ARGUMENT', `The backup ${out} could not be written: ${(e as Error).message}`, { hint: 'Check that the folder exists and is writable.', subject: out, cause: e })
    );
  }
  return { file: out, bytes: statSync(out).size, pages };
}
