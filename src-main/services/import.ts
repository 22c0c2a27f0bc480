/**
 * Folder import: an application service, not a repository (it scans folders, decodes images
 * and masks and copies mask files, then writes rows through db/import-runs.ts), so it stays
 * in services/ while the tables it writes are db/'s. Two layouts are recognised:
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
import type { ImportDuplicate, ImportProblem, ImportProgress, ImportSummary } from '../common/records';
import { probeImage, readMaskPng, type ImageInfo } from '../images/load';
import { fromDataRef } from '../db/files';
import { ensureDefectType, type DefectType } from '../db/defect-types';
import { getDataset } from '../db/datasets';
import type { Label, Split } from '../db/images';
import { commitImportBatch, existingImagePath, finishImportRun, importRunHeartbeat, setImportRunTotal, startImportRun, type ImportRow } from '../db/import-runs';
import { countOnes, placeMaskFileCopy } from '../db/masks';
import type { Store } from '../db/store';
import { asId, asInt, asText } from '../db/validate';

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

type ProbeError = { reason: string; code?: string };
type MaskRead = { width: number; height: number; areaPx: number } | { error: ProbeError } | null;
type Probed = { c: Candidate; error: ProbeError } | { c: Candidate; info: ImageInfo; mask: MaskRead };
/** A row of the batch with the file it came from. */
type Row = ImportRow & { c: Candidate };

/** One import in progress: what it has found so far and how it reports it. */
interface ImportState {
  store: Store;
  opts: ImportOptions;
  datasetId: number;
  runId: number;
  typeIds: Map<string, DefectType>;
  summary: ImportSummary;
  progress: ImportProgress;
  /** sha256 -> relative path, within this import. */
  seen: Map<string, string>;
  lastBeatMs: number;
}

/** Reads an image's header and hash, and its mask when it has one; failures are kept as reasons. */
async function probe(state: ImportState, c: Candidate): Promise<Probed> {
  if (state.opts.signal?.aborted) return { c, error: { reason: 'cancelled' } };
  if (Date.now() - state.lastBeatMs > HEARTBEAT_EVERY_MS) {
    state.lastBeatMs = Date.now();
    importRunHeartbeat(state.store, state.runId, state.lastBeatMs); // a slow batch (huge images) must not look dead
  }
  let info: ImageInfo;
  try {
    info = await probeImage(c.abs, state.opts.maxPixels ? { maxPixels: state.opts.maxPixels } : {});
  } catch (e) {
    return { c, error: reasonOf(e) };
  }
  let mask: MaskRead = null;
  if (c.maskPath) {
    try {
      const m = await readMaskPng(c.maskPath);
      mask = { width: m.width, height: m.height, areaPx: countOnes(m.data) };
    } catch (e) {
      mask = { error: reasonOf(e) };
    }
  }
  return { c, info, mask };
}

/** The mask of a defective image checked against it and copied into the data folder (problems go to the summary). */
function placeMask(state: ImportState, c: Candidate, info: ImageInfo, m: MaskRead): Row['mask'] {
  if (c.label !== 'defect' || !c.defectType) return null;
  const problems = state.summary.maskProblems;
  if (!c.maskPath) {
    problems.push({ path: c.rel, reason: 'no mask found in ground_truth/' + c.defectType, code: 'MISSING_MASK' });
    return null;
  }
  if (!m) throw new Error('mask not read');
  if ('error' in m) {
    problems.push({ path: c.rel, reason: `its mask cannot be read: ${m.error.reason}`, code: m.error.code });
    return null;
  }
  if (m.width !== info.width || m.height !== info.height) {
    problems.push({ path: c.rel, reason: `its mask is ${m.width}x${m.height} but the image is ${info.width}x${info.height}`, code: 'BAD_DATASET' });
    return null;
  }
  const file = placeMaskFileCopy(state.store, c.maskPath, state.datasetId, info.sha256, state.typeIds.get(c.defectType)!.id);
  return { file, areaPx: m.areaPx };
}

/** Decides what of a probed batch to insert (duplicates and rejects set aside) and puts mask files in place before the transaction. */
function sortBatch(state: ImportState, probed: Probed[]): { rows: Row[]; duplicates: ImportDuplicate[]; rejected: ImportProblem[] } {
  const rows: Row[] = [];
  const duplicates: ImportDuplicate[] = [];
  const rejected: ImportProblem[] = [];
  for (const p of probed) {
    if ('error' in p) {
      rejected.push({ path: p.c.rel, reason: p.error.reason, code: p.error.code });
      continue;
    }
    const { c, info } = p;
    const prior = state.seen.get(info.sha256) ?? existingImagePath(state.store, state.datasetId, info.sha256);
    if (prior !== undefined) {
      duplicates.push({ path: c.rel, sha256: info.sha256, duplicateOf: prior });
      continue;
    }
    state.seen.set(info.sha256, c.rel);
    const mask = placeMask(state, c, info, p.mask);
    const defectTypeId = c.defectType ? state.typeIds.get(c.defectType)!.id : null;
    rows.push({ c, path: c.abs, source: c.rel, info, label: c.label, split: c.split, defectTypeId, mask });
  }
  return { rows, duplicates, rejected };
}

/** Probes, sorts and commits one batch, then counts it in the summary and the progress. */
async function importBatch(state: ImportState, batch: Candidate[], concurrency: number): Promise<'cancelled' | void> {
  const { store, summary, progress } = state;
  const probed = await mapPool(batch, concurrency, (c) => probe(state, c));
  if (state.opts.signal?.aborted) return 'cancelled';
  const { rows, duplicates, rejected } = sortBatch(state, probed);
  const committed = commitImportBatch(store, { datasetId: state.datasetId, runId: state.runId, rows, duplicates: duplicates.length, rejected: rejected.length });
  for (const { row, duplicateOf } of committed.lateDuplicates) {
    // added by someone else meanwhile: a duplicate after all
    duplicates.push({ path: row.c.rel, sha256: row.info.sha256, duplicateOf });
    if (row.mask) rmSync(fromDataRef(store.layout.root, row.mask.file), { force: true });
  }
  for (const { c } of committed.inserted) {
    const key = `${c.label}/${c.split ?? 'none'}${c.defectType ? '/' + c.defectType : ''}`;
    summary.counts[key] = (summary.counts[key] ?? 0) + 1;
  }
  summary.imported += committed.inserted.length;
  summary.masks += committed.masks;
  summary.duplicates.push(...duplicates);
  summary.rejected.push(...rejected);
  progress.processed += batch.length;
  progress.imported = summary.imported;
  progress.duplicates = summary.duplicates.length;
  progress.rejected = summary.rejected.length;
  progress.masks = summary.masks;
}

/** The layout of `src` when it can be imported as one dataset (a folder of MVTec categories cannot). */
function importableLayout(src: string): DetectedLayout & { kind: 'mvtec' | 'plain' } {
  const layout = detectLayout(src);
  if (layout.kind === 'mvtec-collection') {
    throw new AppError('BAD_DATASET', `${layout.dir} holds ${layout.categories.length} MVTec categories (${layout.categories.map((c) => c.name).join(', ')}).`, {
      hint: `Import one category per dataset, e.g. ${join(layout.dir, layout.categories[0]!.name)}.`,
      subject: layout.dir,
    });
  }
  return layout;
}

/** Imports a folder (one MVTec category or a plain folder) into a dataset. */
export async function importFolder(store: Store, opts: ImportOptions): Promise<ImportSummary> {
  const t0 = Date.now();
  const datasetId = asId(opts.datasetId, 'datasetId');
  const src = asText(opts.src, 'The source folder', { maxLength: 4096 });
  const batchSize = opts.batchSize === undefined ? 200 : asInt(opts.batchSize, 'batchSize', 1, 10_000);
  const concurrency = opts.concurrency === undefined ? 4 : asInt(opts.concurrency, 'concurrency', 1, 64);
  getDataset(store, datasetId);
  const layout = importableLayout(src);
  const runId = startImportRun(store, { datasetId, source: layout.dir, layout: layout.kind });
  const state: ImportState = {
    store, opts, datasetId, runId, typeIds: new Map(), seen: new Map(), lastBeatMs: Date.now(),
    progress: { phase: 'scanning', total: 0, processed: 0, imported: 0, duplicates: 0, rejected: 0, masks: 0 },
    summary: {
      importRunId: runId, datasetId, layout: layout.kind, status: 'completed', total: 0, imported: 0, duplicates: [], rejected: [], masks: 0,
      maskProblems: [], ignoredFiles: 0, defectTypes: [], counts: {}, durationMs: 0,
    },
  };
  const { summary, progress } = state;
  const finish = (status: 'completed' | 'cancelled' | 'failed', error: string | null) =>
    finishImportRun(store, runId, { status, error, problems: [...summary.rejected, ...summary.maskProblems].slice(0, MAX_STORED_PROBLEMS) });

  try {
    opts.onProgress?.({ ...progress });
    const ignored = { n: 0 };
    const { candidates, defectTypes } = scan(layout, ignored);
    summary.total = progress.total = candidates.length;
    summary.ignoredFiles = ignored.n;
    summary.defectTypes = defectTypes;
    for (const name of defectTypes) state.typeIds.set(name, ensureDefectType(store, { datasetId, name }));
    setImportRunTotal(store, runId, candidates.length);
    state.lastBeatMs = Date.now();
    progress.phase = 'importing';
    opts.onProgress?.({ ...progress });

    for (let b = 0; b * batchSize < candidates.length; b++) {
      if (opts.signal?.aborted || (await importBatch(state, candidates.slice(b * batchSize, (b + 1) * batchSize), concurrency)) === 'cancelled') {
        summary.status = 'cancelled';
        break;
      }
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

/** A default dataset name for a source folder (its base name). */
export function datasetNameFor(src: string): string {
  return basename(resolve(src)) || 'dataset';
}
