/**
 * The inspection area of a dataset (migration 0053): one row per dataset holding the binary
 * mask in image-normalised coordinates (bgad/area.ts), deflated. Setting and clearing it are
 * single statements in a transaction; the database's triggers write the audit log. Training
 * reads it when a run starts, so a change affects the next training only: a trained model
 * carries the area it was trained with in its bundle.
 */
import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { AppError } from '../common/errors';
import type { InspectionAreaInfo, InspectionAreaPixels, InspectionAreaRecord } from '../common/inspection-area';
import { areaProblem } from '../bgad/area';
import { getDataset } from './datasets';
import { cached } from './images';
import { now, type Store } from './store';
import { asId } from './validate';

interface Row { dataset_id: number; width: number; height: number; pixels: Buffer; area_px: number; sha256: string; updated_at_ms: number }

const toInfo = (r: Row): InspectionAreaInfo => ({
  datasetId: r.dataset_id, width: r.width, height: r.height, areaPx: r.area_px, fraction: r.area_px / (r.width * r.height), sha256: r.sha256, updatedAtMs: r.updated_at_ms,
});

/** The table exists (a read-only open of a database older than migration 53 has none). */
function hasTable(store: Store): boolean {
  return !!cached(store.db, `SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'inspection_areas'`).get();
}

/** What is stored about the dataset's area, without its pixels; null when it has none. */
export function getInspectionAreaInfo(store: Store, datasetId: number): InspectionAreaInfo | null {
  const id = asId(datasetId, 'datasetId');
  if (!hasTable(store)) return null;
  const r = cached(store.db, `SELECT dataset_id, width, height, area_px, sha256, updated_at_ms FROM inspection_areas WHERE dataset_id = ?`).get(id) as Row | undefined;
  return r ? toInfo(r) : null;
}

/** The dataset's area with its pixels (0/1); null when it has none (the whole image is inspected). */
export function getInspectionArea(store: Store, datasetId: number): InspectionAreaRecord | null {
  const id = asId(datasetId, 'datasetId');
  getDataset(store, id); // NOT_FOUND for an unknown dataset
  if (!hasTable(store)) return null;
  const r = cached(store.db, `SELECT * FROM inspection_areas WHERE dataset_id = ?`).get(id) as Row | undefined;
  if (!r) return null;
  let pixels: Uint8Array;
  try {
    pixels = new Uint8Array(inflateSync(r.pixels));
  } catch (e) {
    throw new AppError('IO_ERROR', `The inspection area of dataset #${id} is damaged (${(e as Error).message}).`, { hint: 'Paint the inspection area again, or clear it.', cause: e });
  }
  if (pixels.length !== r.width * r.height) {
    throw new AppError('IO_ERROR', `The inspection area of dataset #${id} has ${pixels.length} pixels, not ${r.width}x${r.height}.`, { hint: 'Paint the inspection area again, or clear it.' });
  }
  return { width: r.width, height: r.height, pixels, info: toInfo(r) };
}

/**
 * Sets (or, with null or an all-zero mask, clears) the dataset's inspection area. Any non-zero
 * pixel counts as inside. Returns what is stored (null after clearing). Audited by triggers.
 */
export function setInspectionArea(store: Store, datasetId: number, area: InspectionAreaPixels | null): InspectionAreaInfo | null {
  const id = asId(datasetId, 'datasetId');
  let row: Omit<Row, 'dataset_id' | 'updated_at_ms'> | null = null;
  if (area) {
    const problem = areaProblem(area);
    if (problem) throw new AppError('BAD_ARGUMENT', `The inspection area cannot be used: ${problem}.`, { subject: 'args.area', hint: 'Send width, height and width*height pixels (0 = left out, 1 = inspected), at most 8192 on a side.' });
    const pixels = Uint8Array.from(area.pixels, (v) => (v ? 1 : 0));
    let areaPx = 0;
    for (let i = 0; i < pixels.length; i++) areaPx += pixels[i]!;
    if (areaPx > 0) {
      row = { width: area.width, height: area.height, pixels: deflateSync(pixels), area_px: areaPx, sha256: createHash('sha256').update(pixels).digest('hex') };
    }
  }
  return store.db.transaction(() => {
    getDataset(store, id);
    if (!row) {
      cached(store.db, `DELETE FROM inspection_areas WHERE dataset_id = ?`).run(id);
      return null;
    }
    const prev = cached(store.db, `SELECT sha256, width, height FROM inspection_areas WHERE dataset_id = ?`).get(id) as Pick<Row, 'sha256' | 'width' | 'height'> | undefined;
    // an unchanged area writes nothing (and so logs nothing)
    if (!prev || prev.sha256 !== row.sha256 || prev.width !== row.width || prev.height !== row.height) {
      cached(store.db, `INSERT INTO inspection_areas (dataset_id, width, height, pixels, area_px, sha256, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (dataset_id) DO UPDATE SET width = excluded.width, height = excluded.height, pixels = excluded.pixels, area_px = excluded.area_px,
          sha256 = excluded.sha256, updated_at_ms = excluded.updated_at_ms`).run(id, row.width, row.height, row.pixels, row.area_px, row.sha256, now());
    }
    return getInspectionAreaInfo(store, id);
  }).immediate();
}
