/** Datasets: create, list, rename, delete (with an explicit confirmation). */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../common/errors';
import type { Dataset, DatasetSummary } from '../common/records';
import { now, type Store } from './store';
import { asId, asText, notFound } from './validate';

export type { Dataset, DatasetSummary } from '../common/records';

interface DatasetRow { id: number; name: string; created_at_ms: number; updated_at_ms: number }

const toDataset = (r: DatasetRow): Dataset => ({ id: r.id, name: r.name, createdAtMs: r.created_at_ms, updatedAtMs: r.updated_at_ms });

function asDatasetName(v: unknown): string {
  const name = asText(v, 'The dataset name', { maxLength: 120 });
  if (/[\u0000-\u001f]/.test(name)) throw new AppError('BAD_ARGUMENT', 'The dataset name must not contain control characters.');
  return name;
}

function nameTaken(name: string): AppError {
  return new AppError('CONFLICT', `A dataset named "${name}" already exists.`, { hint: 'Choose another name, or import into the existing dataset with --dataset.', subject: name });
}

export function createDataset(store: Store, input: { name: unknown }): Dataset {
  const name = asDatasetName(input.name);
  const t = now();
  try {
    const r = store.db.prepare(`INSERT INTO datasets (name, created_at_ms, updated_at_ms) VALUES (?, ?, ?) RETURNING *`).get(name, t, t) as DatasetRow;
    return toDataset(r);
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw nameTaken(name);
    throw e;
  }
}

export function getDataset(store: Store, id: unknown): Dataset {
  const dsId = asId(id, 'datasetId');
  const r = store.db.prepare(`SELECT * FROM datasets WHERE id = ?`).get(dsId) as DatasetRow | undefined;
  if (!r) throw notFound('Dataset', dsId);
  return toDataset(r);
}

export function findDatasetByName(store: Store, name: unknown): Dataset | undefined {
  const n = asDatasetName(name);
  const r = store.db.prepare(`SELECT * FROM datasets WHERE name = ?`).get(n) as DatasetRow | undefined;
  return r && toDataset(r);
}

/** The dataset with this name, created when missing. */
export function ensureDataset(store: Store, name: unknown): { dataset: Dataset; isNew: boolean } {
  const found = findDatasetByName(store, name);
  if (found) return { dataset: found, isNew: false };
  return { dataset: createDataset(store, { name }), isNew: true };
}

export function listDatasets(store: Store): DatasetSummary[] {
  const rows = store.db
    .prepare(
      `SELECT d.*,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id) AS image_count,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id AND i.label = 'good') AS n_good,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id AND i.label = 'defect') AS n_defect,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id AND i.label = 'unlabelled') AS n_unlabelled,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id AND i.split = 'train') AS n_train,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id AND i.split = 'val') AS n_val,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id AND i.split = 'test') AS n_test,
        (SELECT count(*) FROM images i WHERE i.dataset_id = d.id AND i.split IS NULL) AS n_unassigned,
        (SELECT count(DISTINCT m.image_id) FROM masks m JOIN images i ON i.id = m.image_id WHERE i.dataset_id = d.id) AS n_masked,
        (SELECT count(*) FROM defect_types t WHERE t.dataset_id = d.id) AS n_types,
        (SELECT count(*) FROM model_versions v WHERE v.dataset_id = d.id) AS n_models,
        (SELECT v.id FROM model_versions v WHERE v.dataset_id = d.id AND v.is_active = 1) AS active_model
       FROM datasets d ORDER BY d.name`,
    )
    .all() as (DatasetRow & Record<string, number | null>)[];
  return rows.map((r) => ({
    ...toDataset(r),
    imageCount: r.image_count as number,
    counts: {
      good: r.n_good as number,
      defect: r.n_defect as number,
      unlabelled: r.n_unlabelled as number,
      train: r.n_train as number,
      val: r.n_val as number,
      test: r.n_test as number,
      unassigned: r.n_unassigned as number,
      masked: r.n_masked as number,
    },
    defectTypes: r.n_types as number,
    modelVersions: r.n_models as number,
    activeModelVersionId: r.active_model ?? null,
  }));
}

export function renameDataset(store: Store, input: { id: unknown; name: unknown }): Dataset {
  const id = asId(input.id, 'datasetId');
  const name = asDatasetName(input.name);
  try {
    const r = store.db.prepare(`UPDATE datasets SET name = ?, updated_at_ms = ? WHERE id = ? RETURNING *`).get(name, now(), id) as DatasetRow | undefined;
    if (!r) throw notFound('Dataset', id);
    return toDataset(r);
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw nameTaken(name);
    throw e;
  }
}

/**
 * Deletes a dataset with its images, masks, model versions and runs. The caller must pass
 * the dataset's exact name as `confirmName` (what the user typed to confirm). The rows go in
 * one transaction; the dataset's mask files are removed afterwards. The audit log keeps
 * its history.
 */
export function deleteDataset(store: Store, input: { id: unknown; confirmName: unknown }): { deletedImages: number } {
  const id = asId(input.id, 'datasetId');
  const ds = getDataset(store, id);
  if (typeof input.confirmName !== 'string' || input.confirmName !== ds.name) {
    throw new AppError('BAD_ARGUMENT', `Deleting dataset "${ds.name}" needs confirmation.`, {
      hint: `Type the dataset's exact name ("${ds.name}") to confirm. Its images, masks, models and results will be removed.`,
      subject: ds.name,
    });
  }
  const db = store.db;
  const deletedImages = db.transaction(() => {
    const n = (db.prepare(`SELECT count(*) AS n FROM images WHERE dataset_id = ?`).get(id) as { n: number }).n;
    db.prepare(`INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json) VALUES (?, ?, 'dataset', ?, 'delete', json_object('name', ?, 'images', ?), NULL)`).run(now(), id, id, ds.name, n);
    db.prepare(`DELETE FROM datasets WHERE id = ?`).run(id);
    return n;
  }).immediate();
  // Files go after the rows: a crash in between leaves only unreferenced files.
  rmSync(join(store.layout.masksDir, String(id)), { recursive: true, force: true });
  rmSync(join(store.layout.bundlesDir, String(id)), { recursive: true, force: true });
  return { deletedImages };
}
