/**
 * Masks: one lossless PNG per (image, defect type), at the image's full resolution, in
 * `masks/<datasetId>/`. Every save writes a NEW file (temp + fsync + rename), then points
 * the row at it in a transaction, then removes the old file: a crash at any point leaves a
 * row whose file exists (at worst an unreferenced file, which `db check` reports).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../common/errors';
import type { MaskPixels, StoredMaskInfo } from '../common/records';
import { readMaskPng, writeMaskPng } from '../images/load';
import { dataFileErrors, fromDataRef, ioError, toDataRef } from './files';
import { commitTempFileSync, removeQuietly, tempPathFor } from '../fs/atomic-file';
import { cached } from './images';
import { now, type Store } from './store';
import { asId, bad, notFound } from './validate';

export type { MaskPixels, StoredMaskInfo } from '../common/records';

interface MaskRow { id: number; image_id: number; defect_type_id: number; defect_type: string; file: string; width: number; height: number; area_px: number; created_at_ms: number; updated_at_ms: number }

const toMask = (r: MaskRow): StoredMaskInfo => ({
  id: r.id, imageId: r.image_id, defectTypeId: r.defect_type_id, defectType: r.defect_type, file: r.file, width: r.width, height: r.height,
  areaPx: r.area_px, createdAtMs: r.created_at_ms, updatedAtMs: r.updated_at_ms,
});

const SELECT_MASK = `SELECT m.*, t.name AS defect_type FROM masks m JOIN defect_types t ON t.id = m.defect_type_id`;

interface ImageTarget { id: number; dataset_id: number; sha256: string; width: number; height: number }

/** A fresh, unique mask file path for (image, defect type). */
export function newMaskPath(store: Store, datasetId: number, sha256: string, defectTypeId: number): string {
  const stamp = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  return join(store.layout.masksDir, String(datasetId), `${sha256.slice(0, 32)}-${defectTypeId}-${stamp}.png`);
}

function target(store: Store, imageId: number, defectTypeId: number): ImageTarget {
  const img = cached(store.db, `SELECT id, dataset_id, sha256, width, height FROM images WHERE id = ?`).get(imageId) as ImageTarget | undefined;
  if (!img) throw notFound('Image', imageId);
  const t = cached(store.db, `SELECT dataset_id FROM defect_types WHERE id = ?`).get(defectTypeId) as { dataset_id: number } | undefined;
  if (!t) throw notFound('Defect type', defectTypeId);
  if (t.dataset_id !== img.dataset_id) throw bad(`Defect type #${defectTypeId} belongs to another dataset than image #${imageId}.`);
  return img;
}

/**
 * Points the (image, defect type) mask row at `file` (already in place), in its own
 * transaction or the caller's. Returns the previous file reference, which the caller
 * deletes once the transaction has committed.
 */
export function upsertMaskRow(store: Store, row: { imageId: number; defectTypeId: number; file: string; width: number; height: number; areaPx: number }): string | null {
  const db = store.db;
  const prev = cached(db, `SELECT file FROM masks WHERE image_id = ? AND defect_type_id = ?`).get(row.imageId, row.defectTypeId) as { file: string } | undefined;
  const t = now();
  cached(
    db,
    `INSERT INTO masks (image_id, defect_type_id, file, width, height, area_px, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (image_id, defect_type_id) DO UPDATE SET file = excluded.file, width = excluded.width, height = excluded.height,
       area_px = excluded.area_px, updated_at_ms = excluded.updated_at_ms`,
  ).run(row.imageId, row.defectTypeId, row.file, row.width, row.height, row.areaPx, t, t);
  return prev && prev.file !== row.file ? prev.file : null;
}

function removeFileRef(store: Store, ref: string | null): void {
  if (ref) rmSync(fromDataRef(store.layout.root, ref), { force: true });
}

export function countOnes(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i]) n++;
  return n;
}

/**
 * Saves a painted mask. An all-zero mask removes the mask (returns null). The size must be
 * the image's full resolution.
 */
export async function saveMask(store: Store, input: { imageId: number; defectTypeId: number } & MaskPixels): Promise<StoredMaskInfo | null> {
  const imageId = asId(input.imageId, 'imageId');
  const defectTypeId = asId(input.defectTypeId, 'defectTypeId');
  if (!(input.data instanceof Uint8Array)) throw bad('The mask data must be a Uint8Array of 0/1 pixels.');
  const img = target(store, imageId, defectTypeId);
  if (input.width !== img.width || input.height !== img.height || input.data.length !== img.width * img.height) {
    throw new AppError('BAD_ARGUMENT', `The mask is ${input.width}x${input.height} (${input.data.length} pixels) but image #${imageId} is ${img.width}x${img.height}.`, {
      hint: 'Masks are stored at the image’s full resolution; scale the painted mask back before saving.',
    });
  }
  const areaPx = countOnes(input.data);
  if (areaPx === 0) {
    deleteMask(store, { imageId, defectTypeId });
    return null;
  }
  const finalPath = newMaskPath(store, img.dataset_id, img.sha256, defectTypeId);
  const tmp = tempPathFor(finalPath);
  try {
    mkdirSync(join(store.layout.masksDir, String(img.dataset_id)), { recursive: true });
    await writeMaskPng(tmp, input.data, img.width, img.height);
  } catch (e) {
    removeQuietly(tmp);
    throw ioError(e, 'the mask', finalPath);
  }
  commitTempFileSync(tmp, finalPath, dataFileErrors('the mask'));
  const file = toDataRef(store.layout.root, finalPath);
  let old: string | null;
  try {
    old = store.db.transaction(() => {
      target(store, imageId, defectTypeId); // still there after the await?
      return upsertMaskRow(store, { imageId, defectTypeId, file, width: img.width, height: img.height, areaPx });
    }).immediate();
  } catch (e) {
    removeQuietly(finalPath);
    throw e;
  }
  removeFileRef(store, old);
  return getMask(store, { imageId, defectTypeId })!;
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Copies an existing mask PNG byte for byte into the data folder (import). Returns the new reference. */
export function placeMaskFileCopy(store: Store, srcPath: string, datasetId: number, sha256: string, defectTypeId: number): string {
  const finalPath = newMaskPath(store, datasetId, sha256, defectTypeId);
  const tmp = tempPathFor(finalPath);
  try {
    mkdirSync(join(store.layout.masksDir, String(datasetId)), { recursive: true });
    copyFileSync(srcPath, tmp);
  } catch (e) {
    removeQuietly(tmp);
    if (!readable(srcPath)) throw e; // the source went away: not a problem of the data folder
    throw ioError(e, 'the mask', finalPath);
  }
  commitTempFileSync(tmp, finalPath, dataFileErrors('the mask'));
  return toDataRef(store.layout.root, finalPath);
}

export function getMask(store: Store, input: { imageId: number; defectTypeId: number }): StoredMaskInfo | null {
  const r = cached(store.db, `${SELECT_MASK} WHERE m.image_id = ? AND m.defect_type_id = ?`).get(asId(input.imageId, 'imageId'), asId(input.defectTypeId, 'defectTypeId')) as MaskRow | undefined;
  return r ? toMask(r) : null;
}

export function listMasks(store: Store, imageId: number): StoredMaskInfo[] {
  return (cached(store.db, `${SELECT_MASK} WHERE m.image_id = ? ORDER BY t.name`).all(asId(imageId, 'imageId')) as MaskRow[]).map(toMask);
}

/** Loads a mask's pixels (1 = defect). Throws MISSING_MASK when there is none or its file is gone. */
export async function loadMask(store: Store, input: { imageId: number; defectTypeId: number }): Promise<MaskPixels & { info: StoredMaskInfo }> {
  const info = getMask(store, input);
  if (!info) throw new AppError('MISSING_MASK', `Image #${input.imageId} has no mask for defect type #${input.defectTypeId}.`, { hint: 'Paint the defect first.' });
  const abs = fromDataRef(store.layout.root, info.file);
  try {
    const m = await readMaskPng(abs);
    return { ...m, info };
  } catch (e) {
    if ((e as AppError).code === 'NOT_FOUND') {
      throw new AppError('MISSING_MASK', `The mask file ${abs} of image #${input.imageId} is missing.`, { hint: 'Restore the data folder from a backup, or repaint the mask. Run "bgad db check" to find other missing files.', subject: abs, cause: e });
    }
    throw e;
  }
}

export function deleteMask(store: Store, input: { imageId: number; defectTypeId: number }): boolean {
  const imageId = asId(input.imageId, 'imageId');
  const defectTypeId = asId(input.defectTypeId, 'defectTypeId');
  const r = store.db.prepare(`DELETE FROM masks WHERE image_id = ? AND defect_type_id = ? RETURNING file`).get(imageId, defectTypeId) as { file: string } | undefined;
  if (!r) return false;
  removeFileRef(store, r.file);
  return true;
}
