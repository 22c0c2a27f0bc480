/**
 * Model versions of a dataset: numbered 1, 2, 3... per dataset, each with its backbone,
 * config, bundle file, calibration, threshold, metrics and the frozen evaluation split it
 * was measured on. Exactly one (or none) is active per dataset (a partial unique index
 * enforces it). Threshold and activation changes are audited by triggers. The threshold's home
 * is the version's bundle file (rewritten by model/bundle-file.ts); the row mirrors it (see
 * `setModelThreshold`).
 */
import { join } from 'node:path';
import { AppError } from '../common/errors';
import { MODEL_STATUSES, type ModelComparison, type ModelStatus, type ModelVersion, type ReviewBand, type ValueDiff } from '../common/records';
import { checkReviewBand, describeReviewBand } from '../common/review-band';
import { dataFileErrors, fromDataRef, toDataRef } from './files';
import { writeFileAtomicSync } from '../fs/atomic-file';
import type { Db } from './database';
import { cached } from './images';
import { now, type Store } from './store';
import { asFinite, asId, asJson, asOneOf, asOptionalId, asText, bad, notFound } from './validate';

export { MODEL_STATUSES };
export type { ModelComparison, ModelStatus, ModelVersion, ValueDiff };

export interface CreateModelVersionInput {
  datasetId: number;
  backboneId: string;
  backboneHash: string;
  config?: unknown;
  bundleFile?: string | null;
  calibration?: unknown;
  threshold?: number | null;
  metrics?: Record<string, unknown>;
  /** The frozen evaluation split (e.g. image ids / sha256 per split). */
  evalSplit?: unknown;
  status?: ModelStatus;
  parentId?: number | null;
  trainingRunId?: number | null;
  name?: string | null;
}

interface Row {
  id: number; dataset_id: number; number: number; name: string | null; backbone_id: string; backbone_hash: string; config_json: string; bundle_file: string | null;
  calibration_json: string; threshold: number | null; metrics_json: string; eval_split_json: string; status: ModelStatus; parent_id: number | null;
  training_run_id: number | null; is_active: number; created_at_ms: number; updated_at_ms: number;
  /** Since migration 51 (absent when read from an older database). */
  review_low?: number | null; review_high?: number | null;
}

const bandOf = (r: Row): ReviewBand | null => (r.review_low != null && r.review_high != null ? { low: r.review_low, high: r.review_high } : null);

const toModel = (r: Row): ModelVersion => ({
  id: r.id, datasetId: r.dataset_id, number: r.number, name: r.name, backboneId: r.backbone_id, backboneHash: r.backbone_hash,
  config: JSON.parse(r.config_json), bundleFile: r.bundle_file, calibration: JSON.parse(r.calibration_json), threshold: r.threshold, reviewBand: bandOf(r),
  metrics: JSON.parse(r.metrics_json) as Record<string, unknown>, evalSplit: JSON.parse(r.eval_split_json), status: r.status, parentId: r.parent_id,
  trainingRunId: r.training_run_id, isActive: r.is_active === 1, createdAtMs: r.created_at_ms, updatedAtMs: r.updated_at_ms,
});

function getRow(db: Db, id: number): Row {
  const r = cached(db, `SELECT * FROM model_versions WHERE id = ?`).get(id) as Row | undefined;
  if (!r) throw notFound('Model version', id);
  return r;
}

/** Inserts a model version with the next number of its dataset (inside the caller's transaction, if any). */
export function createModelVersion(store: Store, input: CreateModelVersionInput): ModelVersion {
  const datasetId = asId(input.datasetId, 'datasetId');
  const backboneId = asText(input.backboneId, 'backboneId', { maxLength: 200 });
  const backboneHash = asText(input.backboneHash, 'backboneHash', { maxLength: 200 });
  const threshold = input.threshold === undefined || input.threshold === null ? null : asFinite(input.threshold, 'threshold');
  const status = input.status === undefined ? 'ready' : asOneOf(input.status, 'status', MODEL_STATUSES);
  const parentId = input.parentId === null ? undefined : asOptionalId(input.parentId, 'parentId');
  const trainingRunId = input.trainingRunId === null ? undefined : asOptionalId(input.trainingRunId, 'trainingRunId');
  const name = input.name === undefined || input.name === null ? null : asText(input.name, 'name', { maxLength: 200 });
  let bundleFile: string | null = null;
  if (input.bundleFile !== undefined && input.bundleFile !== null) {
    bundleFile = asText(input.bundleFile, 'bundleFile', { maxLength: 1000 });
    fromDataRef(store.layout.root, bundleFile); // must stay inside the data folder
  }
  const db = store.db;
  return db.transaction(() => {
    if (!cached(db, `SELECT 1 FROM datasets WHERE id = ?`).get(datasetId)) throw notFound('Dataset', datasetId);
    if (parentId !== undefined && getRow(db, parentId).dataset_id !== datasetId) throw bad(`Parent model version #${parentId} belongs to another dataset.`);
    const next = (cached(db, `SELECT coalesce(max(number), 0) + 1 AS n FROM model_versions WHERE dataset_id = ?`).get(datasetId) as { n: number }).n;
    const t = now();
    const r = cached(
      db,
      `INSERT INTO model_versions (dataset_id, number, name, backbone_id, backbone_hash, config_json, bundle_file, calibration_json, threshold, metrics_json,
         eval_split_json, status, parent_id, training_run_id, is_active, created_at_ms, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING *`,
    ).get(datasetId, next, name, backboneId, backboneHash, asJson(input.config, 'config'), bundleFile, asJson(input.calibration, 'calibration'), threshold,
      asJson(input.metrics, 'metrics'), asJson(input.evalSplit, 'evalSplit'), status, parentId ?? null, trainingRunId ?? null, t, t) as Row;
    return toModel(r);
  }).immediate();
}

export function getModelVersion(store: Store, id: unknown): ModelVersion {
  return toModel(getRow(store.db, asId(id, 'modelVersionId')));
}

export function listModelVersions(store: Store, datasetId: unknown): ModelVersion[] {
  return (cached(store.db, `SELECT * FROM model_versions WHERE dataset_id = ? ORDER BY number DESC`).all(asId(datasetId, 'datasetId')) as Row[]).map(toModel);
}

export function getActiveModelVersion(store: Store, datasetId: unknown): ModelVersion | null {
  const r = cached(store.db, `SELECT * FROM model_versions WHERE dataset_id = ? AND is_active = 1`).get(asId(datasetId, 'datasetId')) as Row | undefined;
  return r ? toModel(r) : null;
}

/** Makes this version the dataset's only active one (audited). */
export function activateModelVersion(store: Store, id: unknown): ModelVersion {
  const mid = asId(id, 'modelVersionId');
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, mid);
    if (r.status !== 'ready') {
      throw new AppError('CONFLICT', `Model version ${r.number} is ${r.status}; only a ready model can be activated.`, { hint: 'Pick a model version whose training completed.' });
    }
    const t = now();
    cached(db, `UPDATE model_versions SET is_active = 0, updated_at_ms = ? WHERE dataset_id = ? AND is_active = 1 AND id <> ?`).run(t, r.dataset_id, mid);
    cached(db, `UPDATE model_versions SET is_active = 1, updated_at_ms = ? WHERE id = ? AND is_active = 0`).run(t, mid);
    return toModel(getRow(db, mid));
  }).immediate();
}

export function deactivateModelVersion(store: Store, id: unknown): ModelVersion {
  const mid = asId(id, 'modelVersionId');
  store.db.prepare(`UPDATE model_versions SET is_active = 0, updated_at_ms = ? WHERE id = ? AND is_active = 1`).run(now(), mid);
  return getModelVersion(store, mid);
}

/** Writes a threshold into a model bundle file (absolute path) of version `versionNumber`, atomically. */
export type BundleThresholdWriter = (file: string, threshold: number, versionNumber: number) => void;

/**
 * Changes the decision threshold (audited by a trigger). The model bundle is the threshold's one
 * home: it is rewritten (atomically) with the new value and the change recorded in its threshold
 * rule, inside the same transaction that updates the row, so the app's inspection, `bgad inspect`
 * with the bundle, the reports and `bgad export` all use the new value. A version without a
 * bundle file only changes its row; one whose bundle is missing or damaged is refused unchanged.
 * The file format is the model layer's, above this one: the caller hands in its rewriter
 * (model/bundle-file.ts `rewriteBundleThreshold`), which throws to refuse.
 */
export function setModelThreshold(store: Store, input: { id: unknown; threshold: unknown }, rewriteBundle: BundleThresholdWriter): ModelVersion {
  const mid = asId(input.id, 'modelVersionId');
  const threshold = asFinite(input.threshold, 'threshold');
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, mid);
    const band = bandOf(r);
    if (band && (threshold < band.low || threshold > band.high)) {
      throw new AppError('CONFLICT', `The threshold ${threshold} lies outside the review band of version ${r.number} (${describeReviewBand(band)}); the threshold was not changed.`, {
        hint: 'Clear the review band first (models.setReviewBand with band null), or set a band that holds the new threshold.',
      });
    }
    if (r.bundle_file) rewriteBundle(fromDataRef(store.layout.root, r.bundle_file), threshold, r.number);
    return toModel(cached(db, `UPDATE model_versions SET threshold = ?, updated_at_ms = ? WHERE id = ? RETURNING *`).get(threshold, now(), mid) as Row);
  }).immediate();
}

/** Writes a review band (or none) into a model bundle file (absolute path) of version `versionNumber`, atomically. */
export type BundleReviewBandWriter = (file: string, band: ReviewBand | null, versionNumber: number) => void;

/**
 * Sets or clears (null) a version's review band (audited by a trigger, like the threshold). It
 * must hold the version's threshold. The bundle file is rewritten in the same transaction as
 * the row (model/bundle-file.ts `rewriteBundleReviewBand`), so `bgad inspect --review-band` on
 * the file uses the same band as the app.
 */
export function setModelReviewBand(store: Store, input: { id: unknown; band: unknown }, rewriteBundle: BundleReviewBandWriter): ModelVersion {
  const mid = asId(input.id, 'modelVersionId');
  if (input.band !== null && (typeof input.band !== 'object' || input.band === undefined)) throw bad('band must be {low, high} or null.');
  const raw = input.band as { low: unknown; high: unknown } | null;
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, mid);
    let band: ReviewBand | null = null;
    if (raw) {
      if (r.threshold === null) throw new AppError('CONFLICT', `Model version ${r.number} has no threshold, so it can have no review band.`, { hint: 'Set its threshold first.' });
      band = checkReviewBand(raw, r.threshold, 'band');
    }
    if (r.bundle_file) rewriteBundle(fromDataRef(store.layout.root, r.bundle_file), band, r.number);
    return toModel(cached(db, `UPDATE model_versions SET review_low = ?, review_high = ?, updated_at_ms = ? WHERE id = ? RETURNING *`).get(band?.low ?? null, band?.high ?? null, now(), mid) as Row);
  }).immediate();
}

/**
 * Brings a version's bundle to its row's threshold when the two differ: only data of earlier
 * versions, whose app changed the row alone, can disagree. Called before the app hands the
 * bundle to an inspection or export, so what it applies is what the file says.
 */
export function syncBundleThreshold(store: Store, id: number, rewriteBundle: BundleThresholdWriter): void {
  const r = getRow(store.db, asId(id, 'modelVersionId'));
  if (r.bundle_file && r.threshold !== null) rewriteBundle(fromDataRef(store.layout.root, r.bundle_file), r.threshold, r.number);
}

/** Updates status, metrics, calibration or name (e.g. after a later evaluation). */
export function updateModelVersion(store: Store, input: { id: unknown; status?: ModelStatus; metrics?: Record<string, unknown>; calibration?: unknown; name?: string | null; bundleFile?: string }): ModelVersion {
  const mid = asId(input.id, 'modelVersionId');
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, mid);
    const status = input.status === undefined ? r.status : asOneOf(input.status, 'status', MODEL_STATUSES);
    if (status !== 'ready' && r.is_active === 1) throw new AppError('CONFLICT', `Model version ${r.number} is active; activate another one before marking it ${status}.`);
    const metrics = input.metrics === undefined ? r.metrics_json : asJson(input.metrics, 'metrics');
    const calibration = input.calibration === undefined ? r.calibration_json : asJson(input.calibration, 'calibration');
    const name = input.name === undefined ? r.name : input.name === null ? null : asText(input.name, 'name', { maxLength: 200 });
    let bundle = r.bundle_file;
    if (input.bundleFile !== undefined) {
      bundle = asText(input.bundleFile, 'bundleFile', { maxLength: 1000 });
      fromDataRef(store.layout.root, bundle);
    }
    return toModel(db.prepare(`UPDATE model_versions SET status = ?, metrics_json = ?, calibration_json = ?, name = ?, bundle_file = ?, updated_at_ms = ? WHERE id = ? RETURNING *`)
      .get(status, metrics, calibration, name, bundle, now(), mid) as Row);
  }).immediate();
}

/** Writes a model bundle atomically into `bundles/<datasetId>/` and returns its data-folder reference. */
export function writeBundle(store: Store, input: { datasetId: number; fileName: string; bytes: Uint8Array }): string {
  const datasetId = asId(input.datasetId, 'datasetId');
  const name = asText(input.fileName, 'fileName', { maxLength: 200 });
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw bad(`The bundle file name "${name}" may only use letters, digits, dot, dash and underscore.`);
  const abs = join(store.layout.bundlesDir, String(datasetId), name);
  writeFileAtomicSync(abs, input.bytes, dataFileErrors('the model bundle'));
  return toDataRef(store.layout.root, abs);
}


function flatten(v: unknown, prefix: string, out: Map<string, unknown>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, v);
}

/** Compares two versions of the same dataset: config differences and metric deltas. */
export function compareModelVersions(store: Store, input: { a: unknown; b: unknown }): ModelComparison {
  const a = getModelVersion(store, input.a);
  const b = getModelVersion(store, input.b);
  if (a.datasetId !== b.datasetId) throw bad('Only model versions of the same dataset can be compared.');
  const fa = new Map<string, unknown>();
  const fb = new Map<string, unknown>();
  flatten(a.config, '', fa);
  flatten(b.config, '', fb);
  const configDiff: ValueDiff[] = [];
  for (const key of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    if (JSON.stringify(fa.get(key)) !== JSON.stringify(fb.get(key))) configDiff.push({ path: key, a: fa.get(key), b: fb.get(key) });
  }
  const ma = new Map<string, unknown>();
  const mb = new Map<string, unknown>();
  flatten(a.metrics, '', ma);
  flatten(b.metrics, '', mb);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const metrics = [...new Set([...ma.keys(), ...mb.keys()])]
    .sort()
    .map((key) => {
      const x = num(ma.get(key));
      const y = num(mb.get(key));
      return { key, a: x, b: y, delta: x !== null && y !== null ? y - x : null };
    })
    .filter((m) => m.a !== null || m.b !== null);
  return {
    a, b,
    sameBackbone: a.backboneId === b.backboneId && a.backboneHash === b.backboneHash,
    sameEvalSplit: JSON.stringify(a.evalSplit) === JSON.stringify(b.evalSplit),
    thresholdDelta: a.threshold !== null && b.threshold !== null ? b.threshold - a.threshold : null,
    metrics,
    configDiff,
  };
}
