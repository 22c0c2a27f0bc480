/**
 * The review loop's rows (table review_decisions, migration 0052): the queue of an inspection
 * run's results in the order a human look helps most, the decisions on them and their undo.
 *
 * A decision of good or defect puts the inspected picture into the run's dataset by content
 * (sha256; the images table is unique per dataset and hash, so never twice): an image already
 * there is relabelled (keeping its split, or `train` when it had none), a new one is inserted
 * as a training image from the file the service probed. The image's row before the decision
 * is kept with it, so undo restores it exactly (an image the decision added is removed again,
 * unless a mask was painted on it since: then undo is refused, nothing the user made is lost).
 * A decision made again on a decided result supersedes the earlier one; undo takes back the
 * newest batch (one decide call) and brings the superseded decisions back. Each decision and
 * each undo is written to the append-only audit log (entity `review`) with who made it.
 * Every change is one transaction.
 */
import { AppError } from '../common/errors';
import type { ReviewBand, StoredInspectionResult } from '../common/records';
import { REVIEW_DECISIONS, type ReviewDecision, type ReviewGroup, type ReviewProgress } from '../common/review';
import { appendAudit } from './audit';
import type { Db } from './database';
import { cached } from './images';
import { now, type Store } from './store';
import { asFinite, asId, asInt, asOneOf, asText, bad, notFound } from './validate';

export type { ReviewBand, ReviewDecision, ReviewGroup, ReviewProgress };

/** A stored result in the queue, with where it stands and its current decision. */
export interface StoredReviewItem extends StoredInspectionResult {
  group: ReviewGroup;
  decision: ReviewDecision | null;
  imageId: number | null;
  decidedAtMs: number | null;
}

/** The run a review is about: its dataset, model and the threshold its verdicts used. */
export interface ReviewTarget {
  runId: number;
  datasetId: number;
  modelVersionId: number | null;
  /** The run's threshold, else its model's; null when neither is known. */
  threshold: number | null;
}

interface DecisionRow {
  id: number; result_id: number; run_id: number; dataset_id: number; decision: ReviewDecision; sha256: string; image_id: number | null;
  image_before_json: string | null; changed: number; supersedes: number | null; batch: number; actor: string | null; decided_at_ms: number; undone_at_ms: number | null;
}

/** The columns of an image row, as kept in `image_before_json` (restored as they were). */
const IMAGE_COLUMNS = ['id', 'dataset_id', 'path', 'sha256', 'width', 'height', 'channels', 'bit_depth', 'format', 'bytes', 'label', 'split', 'defect_type_id', 'source', 'import_run_id', 'created_at_ms', 'updated_at_ms'] as const;
type ImageSnapshot = Record<(typeof IMAGE_COLUMNS)[number], string | number | null>;

export function reviewTarget(store: Store, runId: unknown): ReviewTarget {
  const id = asId(runId, 'runId');
  const r = cached(store.db, `SELECT r.id, r.dataset_id, r.model_version_id, coalesce(r.threshold, m.threshold) AS threshold
      FROM inspection_runs r LEFT JOIN model_versions m ON m.id = r.model_version_id WHERE r.id = ?`).get(id) as { id: number; dataset_id: number | null; model_version_id: number | null; threshold: number | null } | undefined;
  if (!r) throw notFound('Inspection run', id);
  if (r.dataset_id === null) {
    throw new AppError('CONFLICT', `Inspection run #${id} belongs to no dataset (its dataset was deleted), so its images have nowhere to go.`, { hint: 'Inspect the folder again with a model of an existing dataset, then review that run.' });
  }
  return { runId: r.id, datasetId: r.dataset_id, modelVersionId: r.model_version_id, threshold: r.threshold };
}

export function reviewProgress(store: Store, runId: unknown): ReviewProgress {
  const id = asId(runId, 'runId');
  const r = cached(store.db, `SELECT count(*) AS total, count(d.id) AS reviewed, sum(d.decision = 'good') AS good, sum(d.decision = 'defect') AS defect, sum(d.decision = 'skip') AS skip
      FROM inspection_results r LEFT JOIN review_decisions d ON d.result_id = r.id AND d.undone_at_ms IS NULL
      WHERE r.run_id = ? AND r.verdict <> 'error'`).get(id) as Record<string, number | null>;
  return { runId: id, total: r.total ?? 0, reviewed: r.reviewed ?? 0, good: r.good ?? 0, defect: r.defect ?? 0, skip: r.skip ?? 0, undoable: r.reviewed ?? 0 };
}

export interface ReviewQueueQuery {
  runId: number;
  band: ReviewBand;
  threshold: number;
  /** Only results without a decision (true), only decided ones (false), or all (absent). */
  pending?: boolean;
  offset?: number;
  limit?: number;
}

type QueueRow = StoredInspectionResult & { grp: number; decision: ReviewDecision | null; image_id: number | null; decided_at_ms: number | null };
const GROUPS: ReviewGroup[] = ['band', 'fail', 'rest'];

/**
 * A page of the queue: inside the band first (closest to the threshold first), then fails
 * (highest score first), then the rest (highest score first). Files that could not be
 * inspected have no score and are not in the queue.
 */
export function listReviewQueue(store: Store, q: ReviewQueueQuery): { items: StoredReviewItem[]; total: number } {
  const runId = asId(q.runId, 'runId');
  const low = asFinite(q.band.low, 'band.low');
  const high = asFinite(q.band.high, 'band.high');
  if (low > high) throw bad(`band.low (${low}) is above band.high (${high}).`, 'Give the lower score first.');
  const threshold = asFinite(q.threshold, 'threshold');
  const limit = q.limit === undefined ? 100 : asInt(q.limit, 'limit', 1, 10_000);
  const offset = q.offset === undefined ? 0 : asInt(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const pending = q.pending === undefined ? null : q.pending ? 1 : 0;
  const from = `FROM inspection_results r LEFT JOIN review_decisions d ON d.result_id = r.id AND d.undone_at_ms IS NULL
    WHERE r.run_id = @runId AND r.verdict <> 'error' AND (@pending IS NULL OR (d.id IS NULL) = @pending)`;
  const params = { runId, low, high, threshold, pending };
  const total = (cached(store.db, `SELECT count(*) AS n ${from}`).get(params) as { n: number }).n;
  const rows = cached(store.db, `SELECT * FROM (SELECT r.id, r.run_id, r.path, r.sha256, r.score, r.verdict, r.heatmap_file, r.error, r.created_at_ms,
        d.decision, d.image_id, d.decided_at_ms,
        CASE WHEN r.score >= @low AND r.score <= @high THEN 0 WHEN r.verdict = 'fail' THEN 1 ELSE 2 END AS grp ${from})
      ORDER BY grp, CASE WHEN grp = 0 THEN abs(score - @threshold) ELSE -score END, id LIMIT @limit OFFSET @offset`).all({ ...params, limit, offset }) as (Omit<QueueRow, 'runId' | 'heatmapFile' | 'createdAtMs'> & { run_id: number; heatmap_file: string | null; created_at_ms: number })[];
  return {
    total,
    items: rows.map((r) => ({
      id: r.id, runId: r.run_id, path: r.path, sha256: r.sha256, score: r.score, verdict: r.verdict, heatmapFile: r.heatmap_file, error: r.error, createdAtMs: r.created_at_ms,
      group: GROUPS[r.grp]!, decision: r.decision, imageId: r.image_id, decidedAtMs: r.decided_at_ms,
    })),
  };
}

/** The results a decision is about, all of one run (each checked), in the order given. */
export function reviewResults(store: Store, input: { runId: number; resultIds: number[] }): StoredInspectionResult[] {
  const runId = asId(input.runId, 'runId');
  if (!Array.isArray(input.resultIds) || input.resultIds.length === 0) throw bad('resultIds must be a non-empty list of inspection result ids.');
  const ids = [...new Set(input.resultIds.map((id) => asId(id, 'resultId')))];
  const get = cached(store.db, `SELECT * FROM inspection_results WHERE id = ?`);
  return ids.map((id) => {
    const r = get.get(id) as { id: number; run_id: number; path: string; sha256: string; score: number | null; verdict: StoredInspectionResult['verdict']; heatmap_file: string | null; error: string | null; created_at_ms: number } | undefined;
    if (!r) throw notFound('Inspection result', id);
    if (r.run_id !== runId) throw bad(`Inspection result #${id} belongs to run #${r.run_id}, not to run #${runId}.`, 'Decide on the results of one run at a time.');
    if (r.verdict === 'error') throw new AppError('BAD_ARGUMENT', `${r.path} could not be inspected (${r.error ?? 'error'}), so there is nothing to review.`, { subject: r.path, hint: 'Fix or replace the file and inspect it again.' });
    return { id: r.id, runId: r.run_id, path: r.path, sha256: r.sha256, score: r.score, verdict: r.verdict, heatmapFile: r.heatmap_file, error: r.error, createdAtMs: r.created_at_ms };
  });
}

/** Whether the dataset already holds an image with this content (then no file needs reading). */
export function datasetHasContent(store: Store, datasetId: number, sha256: string): boolean {
  return cached(store.db, `SELECT 1 FROM images WHERE dataset_id = ? AND sha256 = ?`).get(datasetId, sha256) !== undefined;
}

/** What the service read of a picture that joins the dataset as a new image. */
export interface ProbedPicture {
  path: string;
  sha256: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  format: string;
  bytes: number;
}

export interface DecideInput {
  runId: number;
  resultIds: number[];
  decision: ReviewDecision;
  /** For defect: the defect type (default: the image's own, else the dataset's only type, else none). */
  defectTypeId?: number | null;
  /** Who decided (the OS user name where there is no user concept). */
  actor: string | null;
  /** The pictures of results whose content the dataset does not hold yet, by sha256. */
  pictures: Map<string, ProbedPicture>;
}

const snapshotOf = (db: Db, datasetId: number, sha256: string): ImageSnapshot | null =>
  (cached(db, `SELECT ${IMAGE_COLUMNS.join(', ')} FROM images WHERE dataset_id = ? AND sha256 = ?`).get(datasetId, sha256) as ImageSnapshot | undefined) ?? null;

const sameImage = (a: ImageSnapshot | null, b: ImageSnapshot | null) =>
  a === null || b === null ? a === b : a.id === b.id && a.label === b.label && a.split === b.split && a.defect_type_id === b.defect_type_id;

function maskCount(db: Db, imageId: number): number {
  return (cached(db, `SELECT count(*) AS n FROM masks WHERE image_id = ?`).get(imageId) as { n: number }).n;
}

function removeImage(db: Db, img: ImageSnapshot): void {
  if (maskCount(db, img.id as number) > 0) {
    throw new AppError('CONFLICT', `A mask was painted on ${img.path} since it was added by the review; taking the decision back would delete that mask.`, {
      subject: String(img.path),
      hint: 'Keep the decision, or delete the mask in the annotator first and undo again.',
    });
  }
  cached(db, `DELETE FROM images WHERE id = ?`).run(img.id);
}

/** Makes the dataset's image of this content what `target` says: removed (null), relabelled, or put back as it was. */
function restoreImage(db: Db, datasetId: number, sha256: string, target: ImageSnapshot | null): void {
  const current = snapshotOf(db, datasetId, sha256);
  if (sameImage(current, target)) return;
  if (current && (target === null || current.id !== target.id)) removeImage(db, current);
  if (!target) return;
  if (current && current.id === target.id) {
    cached(db, `UPDATE images SET label = ?, defect_type_id = ?, split = ?, updated_at_ms = ? WHERE id = ?`).run(target.label, target.defect_type_id, target.split, now(), target.id);
  } else {
    cached(db, `INSERT INTO images (${IMAGE_COLUMNS.join(', ')}) VALUES (${IMAGE_COLUMNS.map(() => '?').join(', ')})`).run(...IMAGE_COLUMNS.map((c) => target[c]));
  }
}

function checkDefectType(db: Db, datasetId: number, id: number | null | undefined): number | null | undefined {
  if (id === undefined || id === null) return id;
  const r = cached(db, `SELECT dataset_id FROM defect_types WHERE id = ?`).get(asId(id, 'defectTypeId')) as { dataset_id: number } | undefined;
  if (!r) throw notFound('Defect type', id);
  if (r.dataset_id !== datasetId) throw bad(`Defect type #${id} belongs to another dataset.`, 'Choose a defect type of the dataset the run belongs to.');
  return id;
}

/** The image a good or defect decision leaves: the existing one relabelled, or a new training image. */
function placeImage(db: Db, ctx: { datasetId: number; runId: number; decision: 'good' | 'defect'; defectTypeId: number | null | undefined; onlyType: number | null }, r: StoredInspectionResult, pictures: Map<string, ProbedPicture>): number {
  const current = snapshotOf(db, ctx.datasetId, r.sha256);
  const label = ctx.decision;
  const t = now();
  if (current) {
    const type = label === 'good' ? null : ctx.defectTypeId !== undefined ? ctx.defectTypeId : current.label === 'defect' && current.defect_type_id !== null ? (current.defect_type_id as number) : ctx.onlyType;
    cached(db, `UPDATE images SET label = ?, defect_type_id = ?, split = coalesce(split, 'train'), updated_at_ms = ? WHERE id = ? AND (label IS NOT ? OR defect_type_id IS NOT ? OR split IS NULL)`)
      .run(label, type, t, current.id, label, type);
    return current.id as number;
  }
  const p = pictures.get(r.sha256);
  if (!p) throw new AppError('IO_ERROR', `The picture of ${r.path} was not read before its decision.`);
  const type = label === 'good' ? null : ctx.defectTypeId ?? ctx.onlyType;
  const row = cached(db, `INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, split, defect_type_id, source, import_run_id, created_at_ms, updated_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'train', ?, ?, NULL, ?, ?) RETURNING id`)
    .get(ctx.datasetId, p.path, p.sha256, p.width, p.height, p.channels, p.bitDepth, p.format, p.bytes, label, type, `review of inspection run #${ctx.runId}`, t, t) as { id: number };
  return row.id;
}

function currentDecision(db: Db, resultId: number): DecisionRow | null {
  return (cached(db, `SELECT * FROM review_decisions WHERE result_id = ? AND undone_at_ms IS NULL`).get(resultId) as DecisionRow | undefined) ?? null;
}

const parseSnapshot = (s: string | null): ImageSnapshot | null => (s === null ? null : (JSON.parse(s) as ImageSnapshot));

/**
 * Records one decision on each result (one batch, one transaction) and puts the pictures into
 * the dataset; each decision is audited with who made it.
 */
export function decideReview(store: Store, input: DecideInput): { batch: number; decided: { resultId: number; decision: ReviewDecision; imageId: number | null; added: boolean }[] } {
  const decision = asOneOf(input.decision, 'decision', REVIEW_DECISIONS);
  const actor = input.actor === null ? null : asText(input.actor, 'actor', { maxLength: 200 });
  const db = store.db;
  return db.transaction(() => {
    const target = reviewTarget(store, input.runId);
    const results = reviewResults(store, input);
    const defectTypeId = checkDefectType(db, target.datasetId, input.defectTypeId);
    const types = cached(db, `SELECT id FROM defect_types WHERE dataset_id = ?`).all(target.datasetId) as { id: number }[];
    const onlyType = types.length === 1 ? types[0]!.id : null;
    const batch = (cached(db, `SELECT coalesce(max(batch), 0) + 1 AS n FROM review_decisions`).get() as { n: number }).n;
    const t = now();
    const decided: { resultId: number; decision: ReviewDecision; imageId: number | null; added: boolean }[] = [];
    for (const r of results) {
      const before = snapshotOf(db, target.datasetId, r.sha256);
      const prior = currentDecision(db, r.id);
      if (prior) cached(db, `UPDATE review_decisions SET undone_at_ms = ? WHERE id = ?`).run(t, prior.id);
      let imageId: number | null = null;
      if (decision === 'skip') {
        // a skip after a decision takes that decision's change back
        if (prior?.changed) restoreImage(db, target.datasetId, r.sha256, parseSnapshot(prior.image_before_json));
        imageId = snapshotOf(db, target.datasetId, r.sha256)?.id as number | null ?? null;
      } else {
        imageId = placeImage(db, { datasetId: target.datasetId, runId: target.runId, decision, defectTypeId, onlyType }, r, input.pictures);
      }
      const after = snapshotOf(db, target.datasetId, r.sha256);
      const changed = !sameImage(before, after);
      cached(db, `INSERT INTO review_decisions (result_id, run_id, dataset_id, decision, sha256, image_id, image_before_json, changed, supersedes, batch, actor, decided_at_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(r.id, target.runId, target.datasetId, decision, r.sha256, decision === 'skip' ? null : imageId, before ? JSON.stringify(before) : null, changed ? 1 : 0, prior?.id ?? null, batch, actor, t);
      const added = before === null && after !== null;
      appendAudit(store, {
        datasetId: target.datasetId, entity: 'review', entityId: r.id, action: decision,
        old: prior ? { decision: prior.decision } : undefined,
        new: { actor, decision, path: r.path, score: r.score, verdict: r.verdict, runId: target.runId, imageId: decision === 'skip' ? null : imageId, added, batch },
      });
      decided.push({ resultId: r.id, decision, imageId: decision === 'skip' ? null : imageId, added });
    }
    return { batch, decided };
  }).immediate();
}

/** Takes back the newest batch of decisions of a run (none: batch null); superseded decisions come back. */
export function undoReview(store: Store, input: { runId: number; actor: string | null }): { batch: number | null; undone: { resultId: number; decision: ReviewDecision; removedImageId: number | null }[] } {
  const runId = asId(input.runId, 'runId');
  const actor = input.actor === null ? null : asText(input.actor, 'actor', { maxLength: 200 });
  const db = store.db;
  return db.transaction(() => {
    const last = cached(db, `SELECT max(batch) AS b FROM review_decisions WHERE run_id = ? AND undone_at_ms IS NULL`).get(runId) as { b: number | null };
    if (last.b === null) return { batch: null, undone: [] };
    const rows = cached(db, `SELECT * FROM review_decisions WHERE run_id = ? AND batch = ? AND undone_at_ms IS NULL ORDER BY id DESC`).all(runId, last.b) as DecisionRow[];
    const t = now();
    const undone: { resultId: number; decision: ReviewDecision; removedImageId: number | null }[] = [];
    for (const d of rows) {
      const beforeUndo = snapshotOf(db, d.dataset_id, d.sha256);
      const target = parseSnapshot(d.image_before_json);
      if (d.changed) restoreImage(db, d.dataset_id, d.sha256, target);
      cached(db, `UPDATE review_decisions SET undone_at_ms = ? WHERE id = ?`).run(t, d.id);
      if (d.supersedes !== null) cached(db, `UPDATE review_decisions SET undone_at_ms = NULL WHERE id = ? AND NOT EXISTS (SELECT 1 FROM review_decisions WHERE result_id = ? AND undone_at_ms IS NULL)`).run(d.supersedes, d.result_id);
      const removedImageId = d.changed && beforeUndo && (!target || target.id !== beforeUndo.id) ? (beforeUndo.id as number) : null;
      const path = (cached(db, `SELECT path FROM inspection_results WHERE id = ?`).get(d.result_id) as { path: string } | undefined)?.path ?? null;
      appendAudit(store, { datasetId: d.dataset_id, entity: 'review', entityId: d.result_id, action: 'undo', old: { decision: d.decision }, new: { actor, path, runId, removedImageId, batch: d.batch } });
      undone.push({ resultId: d.result_id, decision: d.decision, removedImageId });
    }
    return { batch: last.b, undone };
  }).immediate();
}

/** The images of a dataset with a current good or defect decision (one per image, the newest), for comparing versions. */
export function reviewedImages(store: Store, datasetId: unknown): { imageId: number; path: string; decision: 'good' | 'defect' }[] {
  const id = asId(datasetId, 'datasetId');
  return cached(store.db, `SELECT i.id AS imageId, i.path AS path, d.decision AS decision FROM review_decisions d JOIN images i ON i.dataset_id = d.dataset_id AND i.sha256 = d.sha256
      WHERE d.dataset_id = ? AND d.undone_at_ms IS NULL AND d.decision IN ('good', 'defect')
        AND d.id = (SELECT max(x.id) FROM review_decisions x WHERE x.dataset_id = d.dataset_id AND x.sha256 = d.sha256 AND x.undone_at_ms IS NULL AND x.decision IN ('good', 'defect'))
      ORDER BY d.id`).all(id) as { imageId: number; path: string; decision: 'good' | 'defect' }[];
}

/** The defect types of the images the review marked defective (a retrain trains on them too). */
export function reviewedDefectTypes(store: Store, datasetId: unknown): number[] {
  return (cached(store.db, `SELECT DISTINCT i.defect_type_id AS id FROM review_decisions d JOIN images i ON i.dataset_id = d.dataset_id AND i.sha256 = d.sha256
      WHERE d.dataset_id = ? AND d.undone_at_ms IS NULL AND d.decision = 'defect' AND i.defect_type_id IS NOT NULL`).all(asId(datasetId, 'datasetId')) as { id: number }[]).map((r) => r.id);
}

/** Records which version a retrained one replaces (the Models view compares the two). */
export function setReplacedVersion(store: Store, input: { modelId: number; replaces: number }): void {
  const modelId = asId(input.modelId, 'modelId');
  const replaces = asId(input.replaces, 'replaces');
  const db = store.db;
  db.transaction(() => {
    const rows = cached(db, `SELECT id, dataset_id FROM model_versions WHERE id IN (?, ?)`).all(modelId, replaces) as { id: number; dataset_id: number }[];
    if (rows.length !== 2 || rows[0]!.dataset_id !== rows[1]!.dataset_id) throw bad(`Model versions #${modelId} and #${replaces} must both exist and belong to one dataset.`);
    cached(db, `UPDATE model_versions SET parent_id = ?, updated_at_ms = ? WHERE id = ?`).run(replaces, now(), modelId);
  }).immediate();
}

/** Where single images inspected with a model version are kept for review: one completed run per version and threshold. */
export const SINGLE_IMAGES_SOURCE = 'single images';

/**
 * Stores the result of one image inspected on its own (the Inspect view's drop zone) in the
 * model version's "single images" run, so it can be reviewed like a folder's results. The same
 * picture again replaces its earlier result. Returns the run's id.
 */
export function recordSingleInspection(store: Store, input: { modelVersionId: number; threshold: number | null; path: string; sha256: string; score: number; verdict: 'pass' | 'fail' | 'review'; heatmapFile: string | null }): number {
  const modelVersionId = asId(input.modelVersionId, 'modelVersionId');
  const threshold = input.threshold === null ? null : asFinite(input.threshold, 'threshold');
  const path = asText(input.path, 'path', { maxLength: 4096 });
  if (!/^[0-9a-f]{64}$/.test(input.sha256)) throw bad(`sha256 of ${path} must be 64 lowercase hex digits.`);
  const score = asFinite(input.score, 'score');
  const verdict = asOneOf(input.verdict, 'verdict', ['pass', 'fail', 'review'] as const);
  const db = store.db;
  return db.transaction(() => {
    const m = cached(db, `SELECT dataset_id FROM model_versions WHERE id = ?`).get(modelVersionId) as { dataset_id: number } | undefined;
    if (!m) throw notFound('Model version', modelVersionId);
    const t = now();
    let run = cached(db, `SELECT id FROM inspection_runs WHERE model_version_id = ? AND source = ? AND threshold IS ? AND status = 'completed' ORDER BY id DESC LIMIT 1`)
      .get(modelVersionId, SINGLE_IMAGES_SOURCE, threshold) as { id: number } | undefined;
    run ??= cached(db, `INSERT INTO inspection_runs (dataset_id, model_version_id, source, threshold, status, created_at_ms, started_at_ms, finished_at_ms) VALUES (?, ?, ?, ?, 'completed', ?, ?, ?) RETURNING id`)
      .get(m.dataset_id, modelVersionId, SINGLE_IMAGES_SOURCE, threshold, t, t, t) as { id: number };
    cached(db, `INSERT INTO inspection_results (run_id, path, sha256, score, verdict, heatmap_file, error, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
        ON CONFLICT (run_id, sha256) DO UPDATE SET path = excluded.path, score = excluded.score, verdict = excluded.verdict, heatmap_file = excluded.heatmap_file, created_at_ms = excluded.created_at_ms`)
      .run(run.id, path, input.sha256, score, verdict, input.heatmapFile, t);
    cached(db, `UPDATE inspection_runs SET finished_at_ms = ? WHERE id = ?`).run(t, run.id);
    return run.id;
  }).immediate();
}
