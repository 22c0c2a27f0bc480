/** `bgad db check` and `bgad db backup`: integrity checks and online backups. */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { AppError } from '../common/errors';
import type { Db } from './database';
import { schemaVersion } from './database';
import { fromDataRef, tempPathFor, toDataRef } from './files';
import type { DataLayout } from './paths';

export interface CheckReport {
  ok: boolean;
  schemaVersion: number;
  /** `PRAGMA integrity_check` lines other than "ok". */
  integrity: string[];
  foreignKeys: { table: string; rowid: number | null; parent: string }[];
  /** Files the database references that are missing: `table.column #id -> path`. */
  missingFiles: { table: string; id: number; file: string }[];
  /** Files in masks/ that no row references (left by a crash or an old save); harmless. */
  orphanFiles: string[];
  counts: Record<string, number>;
}

const FILE_COLUMNS = [
  ['masks', 'file'],
  ['model_versions', 'bundle_file'],
  ['inspection_results', 'heatmap_file'],
] as const;

function listFiles(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listFiles(p, out);
    else out.push(p);
  }
}

export function checkDatabase(db: Db, layout: DataLayout): CheckReport {
  const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((l) => l !== 'ok');
  const foreignKeys = (db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[]).map((r) => ({ table: r.table, rowid: r.rowid, parent: r.parent }));
  const tables = new Set((db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
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
  listFiles(layout.masksDir, maskFiles);
  const orphanFiles = maskFiles.map((f) => toDataRef(layout.root, f)).filter((f) => !referenced.has(f));
  const counts: Record<string, number> = {};
  for (const t of ['datasets', 'images', 'masks', 'defect_types', 'model_versions', 'training_runs', 'inspection_runs', 'inspection_results', 'import_runs', 'audit_log']) {
    if (tables.has(t)) counts[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  }
  return { ok: integrity.length === 0 && foreignKeys.length === 0 && missingFiles.length === 0, schemaVersion: schemaVersion(db), integrity, foreignKeys, missingFiles, orphanFiles, counts };
}

/** Deletes unreferenced files in masks/ older than `minAgeMs` (younger ones may belong to a save in progress). */
export function removeOrphanFiles(layout: DataLayout, orphans: string[], minAgeMs = 10 * 60_000): number {
  let n = 0;
  const cutoff = Date.now() - minAgeMs;
  for (const ref of orphans) {
    const abs = fromDataRef(layout.root, ref);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st && st.mtimeMs < cutoff) {
      rmSync(abs, { force: true });
      n++;
    }
  }
  return n;
}

/**
 * An online backup of the database (readers and writers may keep working) into `outFile`,
 * written to a temp file and renamed into place. Refuses to overwrite an existing file.
 */
export async function backupDatabase(db: Db, outFile: string, opts: { overwrite?: boolean } = {}): Promise<{ file: string; bytes: number; pages: number }> {
  const out = resolve(outFile);
  if (existsSync(out) && !opts.overwrite) {
    throw new AppError('CONFLICT', `The backup file ${out} already exists.`, { hint: 'Choose a new file name; backups never overwrite.', subject: out });
  }
  if (out === resolve(db.name)) throw new AppError('BAD_ARGUMENT', 'The backup file cannot be the database itself.');
  mkdirSync(dirname(out), { recursive: true });
  const tmp = tempPathFor(out);
  let pages = 0;
  try {
    const r = await db.backup(tmp);
    pages = r.totalPages;
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'SQLITE_FULL') throw new AppError('DISK_FULL', `The disk is full: the backup ${out} could not be written.`, { hint: 'Free some space or back up to another disk.', subject: out, cause: e });
    throw new AppError('BAD_ARGUMENT', `The backup ${out} could not be written: ${(e as Error).message}`, { hint: 'Check that the folder exists and is writable.', subject: out, cause: e });
  }
  return { file: out, bytes: statSync(out).size, pages };
}
