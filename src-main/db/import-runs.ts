/**
 * The rows of a folder import: its `import_runs` row ('running' with pid + heartbeat, then
 * its end) and the images and masks each batch adds, one transaction per batch together
 * with the run's counters. Scanning the folder and decoding the images is the importer's
 * work (services/import.ts); this file only reads and writes the database.
 */
import type { ImportLayout, ImportProblem, ImportRun } from '../common/records';
import { cached, type Label, type Split } from './images';
import { noteImportsFinishedBy } from './recovery';
import { now, type Store } from './store';

interface ImportRunRow { id: number; dataset_id: number; source: string; layout: ImportLayout; status: ImportRun['status']; total: number; imported: number; duplicates: number; rejected: number; masks: number; problems_json: string; error: string | null; started_at_ms: number; finished_at_ms: number | null }

export const toImportRun = (r: ImportRunRow): ImportRun => ({
  id: r.id, datasetId: r.dataset_id, source: r.source, layout: r.layout, status: r.status, total: r.total, imported: r.imported, duplicates: r.duplicates,
  rejected: r.rejected, masks: r.masks, problems: JSON.parse(r.problems_json) as ImportProblem[], error: r.error, startedAtMs: r.started_at_ms, finishedAtMs: r.finished_at_ms,
});

export function listImportRuns(store: Store, input: { datasetId?: number; status?: ImportRun['status'] } = {}): ImportRun[] {
  const rows = store.db
    .prepare(`SELECT * FROM import_runs WHERE (@datasetId IS NULL OR dataset_id = @datasetId) AND (@status IS NULL OR status = @status) ORDER BY id DESC`)
    .all({ datasetId: input.datasetId ?? null, status: input.status ?? null }) as ImportRunRow[];
  return rows.map(toImportRun);
}

/** A new import of `source` into a dataset, 'running' in this process: its run id. */
export function startImportRun(store: Store, input: { datasetId: number; source: string; layout: ImportLayout }): number {
  return (store.db.prepare(`INSERT INTO import_runs (dataset_id, source, layout, status, pid, heartbeat_at_ms, started_at_ms) VALUES (?, ?, ?, 'running', ?, ?, ?) RETURNING id`)
    .get(input.datasetId, input.source, input.layout, process.pid, now(), now()) as { id: number }).id;
}

/** The number of images the scan found (also a heartbeat). */
export function setImportRunTotal(store: Store, runId: number, total: number): void {
  store.db.prepare(`UPDATE import_runs SET total = ?, heartbeat_at_ms = ? WHERE id = ?`).run(total, now(), runId);
}

/** Tells the start-up recovery that the import is alive (a slow batch must not look dead). */
export function importRunHeartbeat(store: Store, runId: number, atMs: number): void {
  cached(store.db, `UPDATE import_runs SET heartbeat_at_ms = ? WHERE id = ?`).run(atMs, runId);
}

/**
 * Ends an import with its status and problems. A completed import saw every file of its
 * source, so earlier interrupted imports of it are noted as finished in the same transaction.
 */
export function finishImportRun(store: Store, runId: number, end: { status: 'completed' | 'cancelled' | 'failed'; error: string | null; problems: ImportProblem[] }): void {
  const db = store.db;
  db.transaction(() => {
    db.prepare(`UPDATE import_runs SET status = ?, error = ?, finished_at_ms = ?, heartbeat_at_ms = ?, problems_json = ? WHERE id = ?`)
      .run(end.status, end.error, now(), now(), JSON.stringify(end.problems), runId);
    if (end.status === 'completed') noteImportsFinishedBy(db, runId);
  }).immediate();
}

/** The path of the image with this content already in the dataset, if any. */
export function existingImagePath(store: Store, datasetId: number, sha256: string): string | undefined {
  return (cached(store.db, `SELECT path FROM images WHERE dataset_id = ? AND sha256 = ?`).get(datasetId, sha256) as { path: string } | undefined)?.path;
}

/** One image an import adds, with its mask file (already placed in the data folder) when it has one. */
export interface ImportRow {
  /** Absolute path of the image. */
  path: string;
  /** Its path relative to the imported folder. */
  source: string;
  info: { sha256: string; width: number; height: number; channels: number; bitDepth: number; format: string; bytes: number };
  label: Label;
  split: Split | null;
  defectTypeId: number | null;
  mask: { file: string; areaPx: number } | null;
}

export interface CommittedBatch<R extends ImportRow = ImportRow> {
  /** The rows inserted. */
  inserted: R[];
  /** Masks inserted. */
  masks: number;
  /** Rows another writer added meanwhile (same content): duplicates after all, their mask files unused. */
  lateDuplicates: { row: R; duplicateOf: string }[];
}

/**
 * Inserts one batch of images (and their masks) and adds the batch's counts to the run, in
 * one transaction: a kill leaves whole batches only. `duplicates` and `rejected` are what the
 * importer already set aside from this batch.
 */
export function commitImportBatch<R extends ImportRow>(store: Store, input: { datasetId: number; runId: number; rows: R[]; duplicates: number; rejected: number }): CommittedBatch<R> {
  const db = store.db;
  const insertImage = cached(
    db,
    `INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, split, defect_type_id, source, import_run_id, created_at_ms, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dataset_id, sha256) DO NOTHING RETURNING id`,
  );
  const insertMask = cached(db, `INSERT INTO masks (image_id, defect_type_id, file, width, height, area_px, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const updateRun = cached(db, `UPDATE import_runs SET imported = imported + ?, duplicates = duplicates + ?, rejected = rejected + ?, masks = masks + ?, heartbeat_at_ms = ? WHERE id = ?`);
  const { datasetId, runId } = input;
  return db.transaction(() => {
    const t = now();
    const out: CommittedBatch<R> = { inserted: [], masks: 0, lateDuplicates: [] };
    for (const r of input.rows) {
      const { info } = r;
      const got = insertImage.get(datasetId, r.path, info.sha256, info.width, info.height, info.channels, info.bitDepth, info.format, info.bytes,
        r.label, r.split, r.defectTypeId, r.source, runId, t, t) as { id: number } | undefined;
      if (!got) {
        out.lateDuplicates.push({ row: r, duplicateOf: existingImagePath(store, datasetId, info.sha256)! });
        continue;
      }
      out.inserted.push(r);
      if (r.mask && r.defectTypeId !== null) {
        insertMask.run(got.id, r.defectTypeId, r.mask.file, info.width, info.height, r.mask.areaPx, t, t);
        out.masks++;
      }
    }
    updateRun.run(out.inserted.length, input.duplicates + out.lateDuplicates.length, input.rejected, out.masks, now(), runId);
    return out;
  }).immediate();
}
