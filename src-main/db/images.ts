/** Images of a dataset: listing with filters and paging, labels and splits (audited). */
import type { Statement } from 'better-sqlite3';
import { AppError } from '../common/errors';
import { IMAGE_LABELS as LABELS, IMAGE_SPLITS as SPLITS, type ImageLabel as Label, type ImagePage, type ImageRecord, type ImageSplit as Split } from '../common/records';
import type { Db } from './database';
import { now, type Store } from './store';
import { asId, asInt, asOneOf, asText, bad, notFound } from './validate';

export { LABELS, SPLITS };
export type { Label, Split, ImagePage, ImageRecord };

export interface ListImagesQuery {
  datasetId: number;
  label?: Label | Label[];
  /** A split, or 'none' for images not assigned to one. */
  split?: Split | 'none' | (Split | 'none')[];
  /** true: has at least one mask; false: has none. */
  annotated?: boolean;
  defectTypeId?: number;
  /** Case-insensitive substring of the path. */
  search?: string;
  orderBy?: 'id' | 'path';
  /** Page size, 1..1000 (default 100). */
  limit?: number;
  /** Offset paging. Ignored when `cursor` is given. */
  offset?: number;
  /** Keyset paging: the `nextCursor` of the previous page. */
  cursor?: string;
  /** Count all matches (default true). */
  withTotal?: boolean;
}

export interface ImageRow {
  id: number; dataset_id: number; path: string; sha256: string; width: number; height: number; channels: number; bit_depth: number;
  format: string; bytes: number; label: Label; split: Split | null; defect_type_id: number | null; defect_type: string | null; source: string | null;
  import_run_id: number | null; mask_count: number; created_at_ms: number; updated_at_ms: number;
}

export function toImage(r: ImageRow): ImageRecord {
  return {
    id: r.id, datasetId: r.dataset_id, path: r.path, sha256: r.sha256, width: r.width, height: r.height, channels: r.channels,
    bitDepth: r.bit_depth, format: r.format, bytes: r.bytes, label: r.label, split: r.split, defectTypeId: r.defect_type_id,
    defectType: r.defect_type, source: r.source, importRunId: r.import_run_id, maskCount: r.mask_count,
    createdAtMs: r.created_at_ms, updatedAtMs: r.updated_at_ms,
  };
}

const SELECT_IMAGE = `SELECT i.*, t.name AS defect_type, (SELECT count(*) FROM masks m WHERE m.image_id = i.id) AS mask_count
  FROM images i LEFT JOIN defect_types t ON t.id = i.defect_type_id`;

/** Prepared statements per connection, keyed by SQL text (the SQL is built from fixed fragments only). */
const stmtCache = new WeakMap<Db, Map<string, Statement>>();
export function cached(db: Db, sql: string): Statement {
  let m = stmtCache.get(db);
  if (!m) stmtCache.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare(sql)));
  return s;
}

export function getImage(store: Store, id: unknown): ImageRecord {
  const imageId = asId(id, 'imageId');
  const r = cached(store.db, `${SELECT_IMAGE} WHERE i.id = ?`).get(imageId) as ImageRow | undefined;
  if (!r) throw notFound('Image', imageId);
  return toImage(r);
}

function list<T>(v: T | T[] | undefined): T[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

function encodeCursor(orderBy: 'id' | 'path', r: ImageRow): string {
  return Buffer.from(JSON.stringify(orderBy === 'id' ? [r.id] : [r.id, r.path])).toString('base64url');
}

function decodeCursor(orderBy: 'id' | 'path', cursor: string): { id: number; path?: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && Number.isSafeInteger(v[0]) && (orderBy === 'id' ? v.length === 1 : v.length === 2 && typeof v[1] === 'string')) {
      return { id: v[0] as number, path: v[1] as string | undefined };
    }
  } catch {
    // fall through to the error below
  }
  throw bad('The page cursor is not valid for this listing.', 'Start again from the first page (no cursor).');
}

export function listImages(store: Store, q: ListImagesQuery): ImagePage {
  const datasetId = asId(q.datasetId, 'datasetId');
  const where: string[] = ['i.dataset_id = ?'];
  const params: (string | number)[] = [datasetId];
  const labels = list(q.label)?.map((l) => asOneOf(l, 'label', LABELS));
  if (labels?.length) {
    where.push(`i.label IN (${labels.map(() => '?').join(', ')})`);
    params.push(...labels);
  }
  const splits = list(q.split)?.map((s) => asOneOf(s, 'split', [...SPLITS, 'none'] as const));
  if (splits?.length) {
    const named = splits.filter((s) => s !== 'none');
    const parts: string[] = [];
    if (named.length) {
      parts.push(`i.split IN (${named.map(() => '?').join(', ')})`);
      params.push(...named);
    }
    if (splits.includes('none')) parts.push('i.split IS NULL');
    where.push(`(${parts.join(' OR ')})`);
  }
  if (q.annotated !== undefined) {
    if (typeof q.annotated !== 'boolean') throw bad('annotated must be true or false.');
    where.push(`${q.annotated ? '' : 'NOT '}EXISTS (SELECT 1 FROM masks m WHERE m.image_id = i.id)`);
  }
  if (q.defectTypeId !== undefined) {
    where.push('i.defect_type_id = ?');
    params.push(asId(q.defectTypeId, 'defectTypeId'));
  }
  if (q.search !== undefined && q.search.trim() !== '') {
    const s = asText(q.search, 'search', { maxLength: 500 });
    where.push(`i.path LIKE ? ESCAPE '\\'`);
    params.push(`%${s.replace(/[\\%_]/g, (c) => '\\' + c)}%`);
  }
  const orderBy = q.orderBy === undefined ? 'id' : asOneOf(q.orderBy, 'orderBy', ['id', 'path'] as const);
  const limit = q.limit === undefined ? 100 : asInt(q.limit, 'limit', 1, 1000);
  const offset = q.offset === undefined ? 0 : asInt(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);

  let total: number | null = null;
  if (q.withTotal !== false) total = (cached(store.db, `SELECT count(*) AS n FROM images i WHERE ${where.join(' AND ')}`).get(...params) as { n: number }).n;

  const pageWhere = [...where];
  const pageParams = [...params];
  if (q.cursor !== undefined) {
    const c = decodeCursor(orderBy, q.cursor);
    if (orderBy === 'id') {
      pageWhere.push('i.id > ?');
      pageParams.push(c.id);
    } else {
      pageWhere.push('(i.path, i.id) > (?, ?)');
      pageParams.push(c.path!, c.id);
    }
  }
  const order = orderBy === 'id' ? 'i.id' : 'i.path, i.id';
  const sql = `${SELECT_IMAGE} WHERE ${pageWhere.join(' AND ')} ORDER BY ${order} LIMIT ? OFFSET ?`;
  const rows = cached(store.db, sql).all(...pageParams, limit + 1, q.cursor !== undefined ? 0 : offset) as ImageRow[];
  const hasMore = rows.length > limit;
  const items = rows.slice(0, limit);
  return { items: items.map(toImage), total, nextCursor: hasMore ? encodeCursor(orderBy, items[items.length - 1]!) : null };
}

function checkDefectType(db: Db, datasetId: number, defectTypeId: number | null): void {
  if (defectTypeId === null) return;
  const r = cached(db, `SELECT dataset_id FROM defect_types WHERE id = ?`).get(defectTypeId) as { dataset_id: number } | undefined;
  if (!r) throw notFound('Defect type', defectTypeId);
  if (r.dataset_id !== datasetId) throw new AppError('BAD_ARGUMENT', `Defect type #${defectTypeId} belongs to another dataset.`);
}

export interface SetLabelInput {
  imageIds: number[];
  label: Label;
  /** For label 'defect': the defect type (optional). Ignored (cleared) for other labels. */
  defectTypeId?: number | null;
}

/**
 * Sets the label of one or many images of one dataset in one transaction. Every change is
 * recorded in the audit log (by a trigger). Returns how many images changed.
 */
export function setLabels(store: Store, input: SetLabelInput): { changed: number } {
  if (!Array.isArray(input.imageIds) || input.imageIds.length === 0) throw bad('imageIds must be a non-empty list of image ids.');
  if (input.imageIds.length > 100_000) throw bad('At most 100,000 images can be labelled at once.');
  const ids = [...new Set(input.imageIds.map((id) => asId(id, 'imageId')))];
  const label = asOneOf(input.label, 'label', LABELS);
  const defectTypeId = label === 'defect' && input.defectTypeId !== undefined && input.defectTypeId !== null ? asId(input.defectTypeId, 'defectTypeId') : null;
  const db = store.db;
  return db.transaction(() => {
    const get = cached(db, `SELECT id, dataset_id FROM images WHERE id = ?`);
    const upd = cached(db, `UPDATE images SET label = ?, defect_type_id = ?, updated_at_ms = ? WHERE id = ? AND (label IS NOT ? OR defect_type_id IS NOT ?)`);
    let datasetId: number | undefined;
    let changed = 0;
    const t = now();
    for (const id of ids) {
      const r = get.get(id) as { id: number; dataset_id: number } | undefined;
      if (!r) throw notFound('Image', id);
      if (datasetId === undefined) {
        datasetId = r.dataset_id;
        checkDefectType(db, datasetId, defectTypeId);
      } else if (r.dataset_id !== datasetId) throw bad('All images labelled together must belong to the same dataset.');
      changed += upd.run(label, defectTypeId, t, id, label, defectTypeId).changes;
    }
    return { changed };
  }).immediate();
}

export function setLabel(store: Store, input: { imageId: number; label: Label; defectTypeId?: number | null }): ImageRecord {
  setLabels(store, { imageIds: [input.imageId], label: input.label, defectTypeId: input.defectTypeId });
  return getImage(store, input.imageId);
}

/** Moves images to a split (or none). */
export function setSplit(store: Store, input: { imageIds: number[]; split: Split | null }): { changed: number } {
  if (!Array.isArray(input.imageIds) || input.imageIds.length === 0) throw bad('imageIds must be a non-empty list of image ids.');
  const ids = [...new Set(input.imageIds.map((id) => asId(id, 'imageId')))];
  const split = input.split === null ? null : asOneOf(input.split, 'split', SPLITS);
  const db = store.db;
  return db.transaction(() => {
    const upd = cached(db, `UPDATE images SET split = ?, updated_at_ms = ? WHERE id = ? AND split IS NOT ?`);
    let changed = 0;
    const t = now();
    for (const id of ids) {
      if (!cached(db, `SELECT 1 FROM images WHERE id = ?`).get(id)) throw notFound('Image', id);
      changed += upd.run(split, t, id, split).changes;
    }
    return { changed };
  }).immediate();
}
