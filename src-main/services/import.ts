/**
 * Folder import. Two layouts are recognised:
 * - MVTec AD (one category): `train/good` -> good/train, `test/good` -> good/test,
 *   `test/<type>` -> defect/test, `train/<type>` -> defect/train (known defects), `val/...`
 *   likewise; masks from `ground_truth/<type>/<name>_mask.png` (or `<name>.png`).
 * - anything else: every image below the folder, unlabelled and in no split.
 * Images are referenced by absolute path, not copied; masks are copied byte for byte into
 * the data folder. Duplicates (same sha256 already in the dataset or earlier in the same
 * import) are skipped and reported; unreadable images are rejected with the reason.
 *
 * Crash safety: the import is an `import_runs` row ('running' with pid + heartbeat). Images
 * are written in batches, each batch one transaction with its masks and the run's counters,
 * so a kill leaves whole batches only, and the next open marks the run 'interrupted'.
 * Re-running the import resumes it (what is already there is skipped as duplicate).
 */
import { existsSync, readdirSync, rmSync, statSync, type Dirent } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { AppError, isAppError } from '../common/errors';
import { IMAGE_FILE_EXTENSIONS } from '../common/api';
import type { ImportDuplicate, ImportLayout, ImportProblem, ImportProgress, ImportRun, ImportSummary } from '../common/records';
import { probeImage, readMaskPng, type ImageInfo } from '../images/load';
import { fromDataRef } from '../db/files';
import { ensureDefectType, type DefectType } from './defect-types';
import { getDataset } from './datasets';
import { cached, type Label, type Split } from './images';
import { countOnes, placeMaskFileCopy } from './masks';
import { noteImportsFinishedBy } from './recovery';
import { now, type Store } from './store';
import { asId, asInt, asText } from './validate';

export const IMAGE_EXTENSIONS = new Set(IMAGE_FILE_EXTENSIONS.map((e) => `.${e}`));

export type { ImportDuplicate, ImportLayout, ImportProblem, ImportProgress, ImportRun, ImportRunStatus, ImportSummary } from '../common/records';

export type DetectedLayout =
  | { kind: 'mvtec'; dir: string }
  /** A folder of MVTec categories (e.g. the MVTec AD root): import each on its own. */
  | { kind: 'mvtec-collection'; dir: string; categories: { name: string; dir: string }[] }
  | { kind: 'plain'; dir: string };

export interface ImportOptions {
  src: string;
  datasetId: number;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
  /** Rows per transaction (default 200). */
  batchSize?: number;
  /** Images probed at once (default 4). */
  concurrency?: number;
  maxPixels?: number;
  /** Test hook: called after each batch has committed. */
  onBatchCommitted?: (batchIndex: number) => void;
}

interface Candidate {
  abs: string;
  rel: string;
  label: Label;
  split: Split | null;
  defectType: string | null;
  maskPath: string | null;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

export function isMvtecCategory(dir: string): boolean {
  if (isDir(join(dir, 'ground_truth')) && (isDir(join(dir, 'train')) || isDir(join(dir, 'test')))) return true;
  return ['train', 'test'].some((s) => isDir(join(dir, s, 'good')));
}

export function detectLayout(src: string): DetectedLayout {
  const dir = resolve(src);
  if (!existsSync(dir)) throw new AppError('NOT_FOUND', `The folder ${dir} does not exist.`, { hint: 'Check the path.', subject: dir });
  if (!isDir(dir)) throw new AppError('BAD_DATASET', `${dir} is not a folder.`, { hint: 'Import a folder of images (or an MVTec-style category folder).', subject: dir });
  if (isMvtecCategory(dir)) return { kind: 'mvtec', dir };
  const categories = subdirs(dir)
    .map((name) => ({ name, dir: join(dir, name) }))
    .filter((c) => isMvtecCategory(c.dir));
  if (categories.length > 0) return { kind: 'mvtec-collection', dir, categories };
  return { kind: 'plain', dir };
}

/** Image files below `dir`, sorted, skipping hidden entries; symlinked folders are not followed. */
function walkImages(dir: string, out: string[], ignored: { n: number }): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new AppError('BAD_DATASET', `Cannot read the folder ${dir}: ${(e as Error).message}`, { hint: 'Check the folder permissions.', subject: dir, cause: e });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walkImages(p, out, ignored);
    else {
      // A link is looked through (a broken link, a link loop or a link to a folder is skipped).
      // A device, FIFO or socket named like an image, or a link to one, is listed too: the safe
      // read (images/load readImageBytes) then rejects it with the reason, without reading it.
      let target: import('node:fs').Stats | undefined;
      if (e.isSymbolicLink()) {
        try {
          target = statSync(p, { throwIfNoEntry: false });
        } catch {
          target = undefined; // ELOOP and the like
        }
        if (!target || target.isDirectory()) continue;
      }
      if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
      else if (target ? target.isFile() : e.isFile()) ignored.n++;
    }
  }
}

function findMask(catDir: string, type: string, relInTypeDir: string): string | null {
  const gt = join(catDir, 'ground_truth', type);
  const stem = relInTypeDir.slice(0, relInTypeDir.length - extname(relInTypeDir).length);
  for (const name of [`${stem}_mask.png`, `${stem}.png`, `${stem}_mask.bmp`, `${stem}_mask.tif`]) {
    const p = join(gt, name);
    if (existsSync(p)) return p;
  }
  return null;
}

function scan(layout: DetectedLayout & { kind: 'mvtec' | 'plain' }, ignored: { n: number }): { candidates: Candidate[]; defectTypes: string[] } {
  const root = layout.dir;
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  const candidates: Candidate[] = [];
  const types = new Set<string>();
  if (layout.kind === 'plain') {
    const files: string[] = [];
    walkImages(root, files, ignored);
    for (const f of files) candidates.push({ abs: f, rel: rel(f), label: 'unlabelled', split: null, defectType: null, maskPath: null });
    return { candidates, defectTypes: [] };
  }
  for (const split of ['train', 'val', 'test'] as const) {
    const splitDir = join(root, split);
    if (!isDir(splitDir)) continue;
    for (const e of readdirSync(splitDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      const p = join(splitDir, e.name);
      if (e.isDirectory()) {
        const files: string[] = [];
        walkImages(p, files, ignored);
        const isGood = e.name === 'good';
        if (!isGood && files.length > 0) types.add(e.name);
        for (const f of files) {
          candidates.push({
            abs: f,
            rel: rel(f),
            label: isGood ? 'good' : 'defect',
            split,
            defectType: isGood ? null : e.name,
            maskPath: isGood ? null : findMask(root, e.name, relative(p, f)),
          });
        }
      } else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        candidates.push({ abs: p, rel: rel(p), label: 'unlabelled', split, defectType: null, maskPath: null });
      } else ignored.n++;
    }
  }
  return { candidates, defectTypes: [...types].sort() };
}

async function mapPool<T, R>(items: T[], concurrency: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

function reasonOf(e: unknown): { reason: string; code?: string } {
  if (isAppError(e)) return { reason: e.message, code: e.code };
  return { reason: (e as Error)?.message ?? String(e) };
}

const MAX_STORED_PROBLEMS = 1000;
const HEARTBEAT_EVERY_MS = 10_000;

/** Imports a folder (one MVTec category or a plain folder) into a dataset. */
export async function importFolder(store: Store, opts: ImportOptions): Promise<ImportSummary> {
  const t0 = Date.now();
  const datasetId = asId(opts.datasetId, 'datasetId');
  const src = asText(opts.src, 'The source folder', { maxLength: 4096 });
  const batchSize = opts.batchSize === undefined ? 200 : asInt(opts.batchSize, 'batchSize', 1, 10_000);
  const concurrency = opts.concurrency === undefined ? 4 : asInt(opts.concurrency, 'concurrency', 1, 64);
  getDataset(store, datasetId);
  const layout = detectLayout(src);
  if (layout.kind === 'mvtec-collection') {
    throw new AppError('BAD_DATASET', `${layout.dir} holds ${layout.categories.length} MVTec categories (${layout.categories.map((c) => c.name).join(', ')}).`, {
      hint: `Import one category per dataset, e.g. ${join(layout.dir, layout.categories[0]!.name)}.`,
      subject: layout.dir,
    });
  }
  const db = store.db;
  const signal = opts.signal;
  const ignored = { n: 0 };

  const runId = (db.prepare(`INSERT INTO import_runs (dataset_id, source, layout, status, pid, heartbeat_at_ms, started_at_ms) VALUES (?, ?, ?, 'running', ?, ?, ?) RETURNING id`)
    .get(datasetId, layout.dir, layout.kind, process.pid, now(), now()) as { id: number }).id;

  const progress: ImportProgress = { phase: 'scanning', total: 0, processed: 0, imported: 0, duplicates: 0, rejected: 0, masks: 0 };
  const summary: ImportSummary = {
    importRunId: runId, datasetId, layout: layout.kind, status: 'completed', total: 0, imported: 0, duplicates: [], rejected: [], masks: 0,
    maskProblems: [], ignoredFiles: 0, defectTypes: [], counts: {}, durationMs: 0,
  };
  const finish = (status: 'completed' | 'cancelled' | 'failed', error: string | null) => {
    const problems = [...summary.rejected, ...summary.maskProblems].slice(0, MAX_STORED_PROBLEMS);
    db.transaction(() => {
      db.prepare(`UPDATE import_runs SET status = ?, error = ?, finished_at_ms = ?, heartbeat_at_ms = ?, problems_json = ? WHERE id = ?`)
        .run(status, error, now(), now(), JSON.stringify(problems), runId);
      // Completed: every file of the source was seen, so earlier interrupted imports of it are finished.
      if (status === 'completed') noteImportsFinishedBy(db, runId);
    }).immediate();
  };

  try {
    opts.onProgress?.({ ...progress });
    const { candidates, defectTypes } = scan(layout, ignored);
    summary.total = progress.total = candidates.length;
    summary.ignoredFiles = ignored.n;
    summary.defectTypes = defectTypes;
    const typeIds = new Map<string, DefectType>();
    for (const name of defectTypes) typeIds.set(name, ensureDefectType(store, { datasetId, name }));
    db.prepare(`UPDATE import_runs SET total = ?, heartbeat_at_ms = ? WHERE id = ?`).run(candidates.length, now(), runId);
    progress.phase = 'importing';
    opts.onProgress?.({ ...progress });

    const findExisting = cached(db, `SELECT path FROM images WHERE dataset_id = ? AND sha256 = ?`);
    const insertImage = cached(
      db,
      `INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, split, defect_type_id, source, import_run_id, created_at_ms, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dataset_id, sha256) DO NOTHING RETURNING id`,
    );
    const insertMask = cached(db, `INSERT INTO masks (image_id, defect_type_id, file, width, height, area_px, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    const updateRun = cached(db, `UPDATE import_runs SET imported = imported + ?, duplicates = duplicates + ?, rejected = rejected + ?, masks = masks + ?, heartbeat_at_ms = ? WHERE id = ?`);
    const seen = new Map<string, string>(); // sha256 -> rel path, within this import
    const beat = cached(db, `UPDATE import_runs SET heartbeat_at_ms = ? WHERE id = ?`);
    let lastBeatMs = Date.now();

    for (let b = 0; b * batchSize < candidates.length; b++) {
      if (signal?.aborted) {
        summary.status = 'cancelled';
        break;
      }
      const batch = candidates.slice(b * batchSize, (b + 1) * batchSize);
      const probed = await mapPool(batch, concurrency, async (c) => {
        if (signal?.aborted) return { c, error: { reason: 'cancelled' } };
        if (Date.now() - lastBeatMs > HEARTBEAT_EVERY_MS) {
          lastBeatMs = Date.now();
          beat.run(lastBeatMs, runId); // a slow batch (huge images) must not look dead
        }
        let info: ImageInfo;
        try {
          info = await probeImage(c.abs, opts.maxPixels ? { maxPixels: opts.maxPixels } : {});
        } catch (e) {
          return { c, error: reasonOf(e) };
        }
        let mask: { width: number; height: number; areaPx: number } | { error: { reason: string; code?: string } } | null = null;
        if (c.maskPath) {
          try {
            const m = await readMaskPng(c.maskPath);
            mask = { width: m.width, height: m.height, areaPx: countOnes(m.data) };
          } catch (e) {
            mask = { error: reasonOf(e) };
          }
        }
        return { c, info, mask };
      });
      if (signal?.aborted) {
        summary.status = 'cancelled';
        break;
      }
      // Decide what to insert and put mask files in place before the transaction.
      interface Row { c: Candidate; info: ImageInfo; mask: { file: string; areaPx: number } | null }
      const rows: Row[] = [];
      const batchDup: ImportDuplicate[] = [];
      const batchRejected: ImportProblem[] = [];
      for (const p of probed) {
        if ('error' in p && p.error) {
          batchRejected.push({ path: p.c.rel, reason: p.error.reason, code: p.error.code });
          continue;
        }
        const info = (p as { info: ImageInfo }).info;
        const prior = seen.get(info.sha256) ?? (findExisting.get(datasetId, info.sha256) as { path: string } | undefined)?.path;
        if (prior !== undefined) {
          batchDup.push({ path: p.c.rel, sha256: info.sha256, duplicateOf: prior });
          continue;
        }
        seen.set(info.sha256, p.c.rel);
        let mask: Row['mask'] = null;
        if (p.c.label === 'defect' && p.c.defectType) {
          if (!p.c.maskPath) summary.maskProblems.push({ path: p.c.rel, reason: 'no mask found in ground_truth/' + p.c.defectType, code: 'MISSING_MASK' });
          else {
            const m = (p as { mask: { width: number; height: number; areaPx: number } | { error: { reason: string; code?: string } } | null }).mask;
            if (!m) throw new Error('mask not read');
            if ('error' in m) {
              summary.maskProblems.push({ path: p.c.rel, reason: `its mask cannot be read: ${m.error.reason}`, code: m.error.code });
            } else if (m.width !== info.width || m.height !== info.height) {
              summary.maskProblems.push({ path: p.c.rel, reason: `its mask is ${m.width}x${m.height} but the image is ${info.width}x${info.height}`, code: 'BAD_DATASET' });
            } else {
              const file = placeMaskFileCopy(store, p.c.maskPath, datasetId, info.sha256, typeIds.get(p.c.defectType)!.id);
              mask = { file, areaPx: m.areaPx };
            }
          }
        }
        rows.push({ c: p.c, info, mask });
      }
      const orphanFiles: string[] = [];
      const inserted = db.transaction(() => {
        const t = now();
        let n = 0;
        let masks = 0;
        for (const r of rows) {
          const typeId = r.c.defectType ? typeIds.get(r.c.defectType)!.id : null;
          const got = insertImage.get(datasetId, r.c.abs, r.info.sha256, r.info.width, r.info.height, r.info.channels, r.info.bitDepth, r.info.format, r.info.bytes,
            r.c.label, r.c.split, typeId, r.c.rel, runId, t, t) as { id: number } | undefined;
          if (!got) {
            // Added by someone else meanwhile: a duplicate after all.
            batchDup.push({ path: r.c.rel, sha256: r.info.sha256, duplicateOf: (findExisting.get(datasetId, r.info.sha256) as { path: string }).path });
            if (r.mask) orphanFiles.push(r.mask.file);
            continue;
          }
          n++;
          const key = `${r.c.label}/${r.c.split ?? 'none'}${r.c.defectType ? '/' + r.c.defectType : ''}`;
          summary.counts[key] = (summary.counts[key] ?? 0) + 1;
          if (r.mask && typeId !== null) {
            insertMask.run(got.id, typeId, r.mask.file, r.info.width, r.info.height, r.mask.areaPx, t, t);
            masks++;
          }
        }
        updateRun.run(n, batchDup.length, batchRejected.length, masks, now(), runId);
        return { n, masks };
      }).immediate();
      for (const f of orphanFiles) rmSync(fromDataRef(store.layout.root, f), { force: true });
      summary.imported += inserted.n;
      summary.masks += inserted.masks;
      summary.duplicates.push(...batchDup);
      summary.rejected.push(...batchRejected);
      progress.processed += batch.length;
      progress.imported = summary.imported;
      progress.duplicates = summary.duplicates.length;
      progress.rejected = summary.rejected.length;
      progress.masks = summary.masks;
      opts.onBatchCommitted?.(b);
      opts.onProgress?.({ ...progress });
    }
    finish(summary.status, summary.status === 'cancelled' ? 'Cancelled by the user.' : null);
    progress.phase = 'done';
    opts.onProgress?.({ ...progress });
  } catch (e) {
    try {
      finish('failed', reasonOf(e).reason);
    } catch {
      // The database itself failed (e.g. disk full); the next open marks the run interrupted.
    }
    throw e;
  }
  summary.durationMs = Date.now() - t0;
  return summary;
}

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

/** A default dataset name for a source folder (its base name). */
export function datasetNameFor(src: string): string {
  return basename(resolve(src)) || 'dataset';
}
