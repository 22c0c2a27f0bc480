/**
 * Inspection runs (a batch of images scored by one model version) and their per-image
 * results. Adding a result is idempotent by (run, sha256): a resumed run re-adding an
 * image replaces its earlier result instead of duplicating it.
 */
import { AppError } from '../common/errors';
import { VERDICTS, type InspectionRun, type InspectionSummary, type ReviewBand, type RunStatus as InspectionStatus, type StoredInspectionResult, type Verdict } from '../common/records';
import { checkReviewBand } from '../common/review-band';
import type { Db } from './database';
import { fromDataRef } from './files';
import { cached } from './images';
import { now, type Store } from './store';
import { asFinite, asId, asInt, asOneOf, asOptionalId, asText, bad, notFound } from './validate';

export { VERDICTS };
export type { InspectionRun, InspectionStatus, InspectionSummary, StoredInspectionResult, Verdict };

interface RunRow { id: number; dataset_id: number | null; model_version_id: number | null; source: string; threshold: number | null; status: InspectionStatus; pid: number | null; heartbeat_at_ms: number | null; error: string | null; created_at_ms: number; started_at_ms: number | null; finished_at_ms: number | null; review_low?: number | null; review_high?: number | null }
interface ResultRow { id: number; run_id: number; path: string; sha256: string; score: number | null; verdict: Verdict; heatmap_file: string | null; error: string | null; created_at_ms: number }

export const toInspectionRun = (r: RunRow): InspectionRun => ({
  id: r.id, datasetId: r.dataset_id, modelVersionId: r.model_version_id, source: r.source, threshold: r.threshold,
  reviewBand: r.review_low != null && r.review_high != null ? { low: r.review_low, high: r.review_high } : null, status: r.status, pid: r.pid,
  heartbeatAtMs: r.heartbeat_at_ms, error: r.error, createdAtMs: r.created_at_ms, startedAtMs: r.started_at_ms, finishedAtMs: r.finished_at_ms,
});
const toResult = (r: ResultRow): StoredInspectionResult => ({
  id: r.id, runId: r.run_id, path: r.path, sha256: r.sha256, score: r.score, verdict: r.verdict, heatmapFile: r.heatmap_file, error: r.error, createdAtMs: r.created_at_ms,
});

function getRunRow(db: Db, id: number): RunRow {
  const r = cached(db, `SELECT * FROM inspection_runs WHERE id = ?`).get(id) as RunRow | undefined;
  if (!r) throw notFound('Inspection run', id);
  return r;
}

/**
 * Starts an inspection run ('running', owned by this process). Without a threshold it takes the
 * model's; without a review band (undefined) the model's when that holds the run's threshold
 * (null: none).
 */
export function createInspectionRun(store: Store, input: { source: string; modelVersionId?: number; datasetId?: number; threshold?: number | null; reviewBand?: ReviewBand | null; pid?: number }): InspectionRun {
  const source = asText(input.source, 'source', { maxLength: 4096 });
  const modelVersionId = asOptionalId(input.modelVersionId, 'modelVersionId') ?? null;
  let datasetId = asOptionalId(input.datasetId, 'datasetId') ?? null;
  let threshold = input.threshold === undefined || input.threshold === null ? null : asFinite(input.threshold, 'threshold');
  const pid = input.pid === undefined ? process.pid : asInt(input.pid, 'pid', 1, 2 ** 31 - 1);
  const db = store.db;
  return db.transaction(() => {
    let band: ReviewBand | null = null;
    if (modelVersionId !== null) {
      const m = cached(db, `SELECT dataset_id, threshold, review_low, review_high FROM model_versions WHERE id = ?`).get(modelVersionId) as
        { dataset_id: number; threshold: number | null; review_low: number | null; review_high: number | null } | undefined;
      if (!m) throw notFound('Model version', modelVersionId);
      if (datasetId !== null && datasetId !== m.dataset_id) throw bad(`Model version #${modelVersionId} belongs to another dataset.`);
      datasetId = m.dataset_id;
      threshold ??= m.threshold; // the threshold in force when the run started
      // ... and the band in force, where it holds that threshold
      if (input.reviewBand === undefined && m.review_low !== null && m.review_high !== null && threshold !== null && threshold >= m.review_low && threshold <= m.review_high) {
        band = { low: m.review_low, high: m.review_high };
      }
    } else if (datasetId !== null && !cached(db, `SELECT 1 FROM datasets WHERE id = ?`).get(datasetId)) throw notFound('Dataset', datasetId);
    if (input.reviewBand) band = checkReviewBand(input.reviewBand, threshold, 'reviewBand');
    const t = now();
    return toInspectionRun(cached(db, `INSERT INTO inspection_runs (dataset_id, model_version_id, source, threshold, review_low, review_high, status, pid, heartbeat_at_ms, created_at_ms, started_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?) RETURNING *`)
      .get(datasetId, modelVersionId, source, threshold, band?.low ?? null, band?.high ?? null, pid, t, t, t) as RunRow);
  }).immediate();
}

export interface AddResultInput {
  path: string;
  sha256: string;
  score?: number | null;
  verdict: Verdict;
  heatmapFile?: string | null;
  error?: string | null;
}

function validateResult(store: Store, r: AddResultInput) {
  const path = asText(r.path, 'path', { maxLength: 4096 });
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) throw bad(`sha256 of ${path} must be 64 lowercase hex digits.`);
  const verdict = asOneOf(r.verdict, 'verdict', VERDICTS);
  const score = r.score === undefined || r.score === null ? null : asFinite(r.score, 'score');
  if (verdict !== 'error' && score === null) throw bad(`A ${verdict} result for ${path} needs a score.`);
  let heatmap: string | null = null;
  if (r.heatmapFile !== undefined && r.heatmapFile !== null) {
    heatmap = asText(r.heatmapFile, 'heatmapFile', { maxLength: 1000 });
    fromDataRef(store.layout.root, heatmap);
  }
  const error = r.error === undefined || r.error === null ? null : asText(r.error, 'error', { maxLength: 10_000 });
  return { path, sha256: r.sha256, verdict, score, heatmap, error };
}

/** Adds (or replaces, by sha256) results of a running run, in one transaction; refreshes the heartbeat. */
export function addInspectionResults(store: Store, input: { runId: number; results: AddResultInput[] }): { added: number; replaced: number } {
  const runId = asId(input.runId, 'runId');
  if (!Array.isArray(input.results)) throw bad('results must be a list.');
  const rows = input.results.map((r) => validateResult(store, r));
  const db = store.db;
  return db.transaction(() => {
    const run = getRunRow(db, runId);
    if (run.status === 'cancelled') throw new AppError('CANCELLED', `Inspection run #${runId} was cancelled.`);
    if (run.status !== 'running') throw new AppError('CONFLICT', `Inspection run #${runId} is ${run.status}; it takes no more results.`);
    const exists = cached(db, `SELECT 1 FROM inspection_results WHERE run_id = ? AND sha256 = ?`);
    const upsert = cached(db, `INSERT INTO inspection_results (run_id, path, sha256, score, verdict, heatmap_file, error, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, sha256) DO UPDATE SET path = excluded.path, score = excluded.score, verdict = excluded.verdict, heatmap_file = excluded.heatmap_file, error = excluded.error`);
    let added = 0;
    let replaced = 0;
    const t = now();
    for (const r of rows) {
      if (exists.get(runId, r.sha256)) replaced++;
      else added++;
      upsert.run(runId, r.path, r.sha256, r.score, r.verdict, r.heatmap, r.error, t);
    }
    cached(db, `UPDATE inspection_runs SET heartbeat_at_ms = ? WHERE id = ?`).run(t, runId);
    return { added, replaced };
  }).immediate();
}

export function addInspectionResult(store: Store, input: { runId: number } & AddResultInput): { added: number; replaced: number } {
  const { runId, ...r } = input;
  return addInspectionResults(store, { runId, results: [r] });
}

export function finishInspectionRun(store: Store, input: { runId: number; status: 'completed' | 'failed' | 'cancelled'; error?: string }): InspectionRun {
  const runId = asId(input.runId, 'runId');
  const status = asOneOf(input.status, 'status', ['completed', 'failed', 'cancelled'] as const);
  const error = input.error === undefined ? null : asText(input.error, 'error', { maxLength: 10_000 });
  const db = store.db;
  return db.transaction(() => {
    const r = getRunRow(db, runId);
    if (r.status !== 'running' && r.status !== 'queued' && !(r.status === 'interrupted' && status === 'cancelled')) {
      throw new AppError('CONFLICT', `Inspection run #${runId} is already ${r.status}.`);
    }
    return toInspectionRun(cached(db, `UPDATE inspection_runs SET status = ?, error = ?, finished_at_ms = ? WHERE id = ? RETURNING *`).get(status, error, now(), runId) as RunRow);
  }).immediate();
}

/** An interrupted run continues: running again, owned by this process; results already stored are kept. */
export function resumeInspectionRun(store: Store, input: { runId: number; pid?: number }): InspectionRun {
  const runId = asId(input.runId, 'runId');
  const pid = input.pid === undefined ? process.pid : asInt(input.pid, 'pid', 1, 2 ** 31 - 1);
  const db = store.db;
  return db.transaction(() => {
    const r = getRunRow(db, runId);
    if (r.status !== 'interrupted') throw new AppError('CONFLICT', `Inspection run #${runId} is ${r.status}; only an interrupted run can be resumed.`);
    return toInspectionRun(cached(db, `UPDATE inspection_runs SET status = 'running', pid = ?, heartbeat_at_ms = ?, error = NULL, finished_at_ms = NULL WHERE id = ? RETURNING *`).get(pid, now(), runId) as RunRow);
  }).immediate();
}

export function getInspectionRun(store: Store, id: unknown): InspectionRun & { summary: InspectionSummary } {
  const runId = asId(id, 'runId');
  return { ...toInspectionRun(getRunRow(store.db, runId)), summary: inspectionSummary(store, runId) };
}

export function listInspectionRuns(store: Store, input: { datasetId?: number; modelVersionId?: number; limit?: number } = {}): InspectionRun[] {
  const datasetId = asOptionalId(input.datasetId, 'datasetId') ?? null;
  const modelVersionId = asOptionalId(input.modelVersionId, 'modelVersionId') ?? null;
  const limit = input.limit === undefined ? 100 : asInt(input.limit, 'limit', 1, 10_000);
  return (cached(store.db, `SELECT * FROM inspection_runs WHERE (@datasetId IS NULL OR dataset_id = @datasetId) AND (@modelVersionId IS NULL OR model_version_id = @modelVersionId) ORDER BY id DESC LIMIT @limit`)
    .all({ datasetId, modelVersionId, limit }) as RunRow[]).map(toInspectionRun);
}

export interface ListResultsQuery {
  runId: number;
  verdict?: Verdict | Verdict[];
  search?: string;
  /** 'score' sorts highest first by default. */
  orderBy?: 'id' | 'path' | 'score';
  descending?: boolean;
  limit?: number;
  offset?: number;
}

export function listInspectionResults(store: Store, q: ListResultsQuery): { items: StoredInspectionResult[]; total: number } {
  const runId = asId(q.runId, 'runId');
  const where = ['run_id = ?'];
  const params: (string | number)[] = [runId];
  const verdicts = q.verdict === undefined ? [] : (Array.isArray(q.verdict) ? q.verdict : [q.verdict]).map((v) => asOneOf(v, 'verdict', VERDICTS));
  if (verdicts.length) {
    where.push(`verdict IN (${verdicts.map(() => '?').join(', ')})`);
    params.push(...verdicts);
  }
  if (q.search !== undefined && q.search.trim() !== '') {
    where.push(`path LIKE ? ESCAPE '\\'`);
    params.push(`%${asText(q.search, 'search').replace(/[\\%_]/g, (c) => '\\' + c)}%`);
  }
  const orderBy = q.orderBy === undefined ? 'id' : asOneOf(q.orderBy, 'orderBy', ['id', 'path', 'score'] as const);
  const desc = q.descending ?? orderBy === 'score';
  const limit = q.limit === undefined ? 100 : asInt(q.limit, 'limit', 1, 10_000);
  const offset = q.offset === undefined ? 0 : asInt(q.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const order = `${orderBy === 'score' ? 'score IS NULL, score' : orderBy} ${desc ? 'DESC' : 'ASC'}, id ${desc ? 'DESC' : 'ASC'}`;
  const w = where.join(' AND ');
  const total = (cached(store.db, `SELECT count(*) AS n FROM inspection_results WHERE ${w}`).get(...params) as { n: number }).n;
  const items = (cached(store.db, `SELECT * FROM inspection_results WHERE ${w} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...params, limit, offset) as ResultRow[]).map(toResult);
  return { items, total };
}

export function inspectionSummary(store: Store, runId: unknown): InspectionSummary {
  const id = asId(runId, 'runId');
  const r = cached(store.db, `SELECT count(*) AS total, sum(verdict = 'pass') AS pass, sum(verdict = 'fail') AS fail, sum(verdict = 'error') AS error,
      sum(verdict = 'review') AS review, min(score) AS min_score, max(score) AS max_score, avg(score) AS mean_score FROM inspection_results WHERE run_id = ?`).get(id) as Record<string, number | null>;
  return { total: r.total ?? 0, pass: r.pass ?? 0, fail: r.fail ?? 0, error: r.error ?? 0, review: r.review ?? 0, minScore: r.min_score ?? null, maxScore: r.max_score ?? null, meanScore: r.mean_score ?? null };
}

/** Keeps a long-running run (a station waiting for files) from being taken for a dead one. */
export function heartbeatInspectionRun(store: Store, runId: unknown): void {
  cached(store.db, `UPDATE inspection_runs SET heartbeat_at_ms = ? WHERE id = ? AND status = 'running'`).run(now(), asId(runId, 'runId'));
}

/**
 * The results of a run stored in a time range (`created_at_ms`, both ends inclusive; either
 * may be left out), in the order they were stored: a station's shift.
 */
export function inspectionResultsInRange(store: Store, input: { runId: unknown; fromMs?: number; toMs?: number }): StoredInspectionResult[] {
  const runId = asId(input.runId, 'runId');
  const from = input.fromMs === undefined ? null : asInt(input.fromMs, 'fromMs', 0, Number.MAX_SAFE_INTEGER);
  const to = input.toMs === undefined ? null : asInt(input.toMs, 'toMs', 0, Number.MAX_SAFE_INTEGER);
  return (cached(store.db, `SELECT * FROM inspection_results WHERE run_id = @runId AND (@from IS NULL OR created_at_ms >= @from) AND (@to IS NULL OR created_at_ms <= @to) ORDER BY id`)
    .all({ runId, from, to }) as ResultRow[]).map(toResult);
}

// ---- station runs ---------------------------------------------------------------------------------

/** An inspection run fed by a station (the app's Station view): where it watched and wrote. */
export interface StationRunRecord extends InspectionRun {
  input: string;
  out: string;
  moveTo: string | null;
  options: Record<string, unknown>;
}

interface StationRow extends RunRow { input: string; out: string; move_to: string | null; options_json: string }

const toStationRun = (r: StationRow): StationRunRecord => {
  let options: Record<string, unknown> = {};
  try {
    options = JSON.parse(r.options_json) as Record<string, unknown>;
  } catch {
    // a damaged options column: the run is still listed
  }
  return { ...toInspectionRun(r), input: r.input, out: r.out, moveTo: r.move_to, options };
};

/** Starts the run of a station ('running', owned by this process): an inspection run of `input`, plus where it writes. */
export function createStationRun(store: Store, input: { modelVersionId: number; input: string; out: string; moveTo?: string | null; threshold?: number | null; reviewBand?: ReviewBand | null; options?: Record<string, unknown> }): StationRunRecord {
  const folder = asText(input.input, 'input', { maxLength: 4096 });
  const out = asText(input.out, 'out', { maxLength: 4096 });
  const moveTo = input.moveTo === undefined || input.moveTo === null ? null : asText(input.moveTo, 'moveTo', { maxLength: 4096 });
  const options = JSON.stringify(input.options ?? {});
  const db = store.db;
  return db.transaction(() => {
    const run = createInspectionRun(store, { source: folder, modelVersionId: input.modelVersionId, threshold: input.threshold, reviewBand: input.reviewBand });
    cached(db, `INSERT INTO station_runs (run_id, input, out, move_to, options_json) VALUES (?, ?, ?, ?, ?)`).run(run.id, folder, out, moveTo, options);
    return getStationRun(store, run.id)!;
  }).immediate();
}

/** The station part of a run; null for a run that is not a station's. */
export function getStationRun(store: Store, runId: unknown): StationRunRecord | null {
  const r = cached(store.db, `SELECT r.*, s.input, s.out, s.move_to, s.options_json FROM inspection_runs r JOIN station_runs s ON s.run_id = r.id WHERE r.id = ?`).get(asId(runId, 'runId')) as StationRow | undefined;
  return r ? toStationRun(r) : null;
}

/** Runs of stations, newest first. */
export function listStationRuns(store: Store, input: { limit?: number } = {}): StationRunRecord[] {
  const limit = input.limit === undefined ? 100 : asInt(input.limit, 'limit', 1, 10_000);
  return (cached(store.db, `SELECT r.*, s.input, s.out, s.move_to, s.options_json FROM inspection_runs r JOIN station_runs s ON s.run_id = r.id ORDER BY r.id DESC LIMIT ?`).all(limit) as StationRow[]).map(toStationRun);
}
