/**
 * Training-run bookkeeping. The engine does the work; this records it so a crash loses
 * nothing that was committed: queued -> running (pid + heartbeat) -> completed (with its
 * model version) | failed | cancelled; a run whose process died is marked 'interrupted'
 * when the store next opens, and can then be resumed (queued again, keeping its curves
 * and step) or discarded.
 *
 * Cancellation is cooperative: `cancelTrainingRun` marks the run, and the worker's next
 * `appendTrainingProgress` throws CANCELLED so it stops.
 */
import { AppError } from '../common/errors';
import { RUN_STATUSES as TRAINING_STATUSES, type RunStatus as TrainingStatus, type TrainingRun } from '../common/records';
import type { Db } from './database';
import { cached } from './images';
import { createModelVersion, type CreateModelVersionInput, type ModelVersion } from './model-versions';
import { now, type Store } from './store';
import { asFinite, asId, asInt, asJson, asOneOf, asOptionalId, asText, bad, notFound } from './validate';

export { TRAINING_STATUSES };
export type { TrainingRun, TrainingStatus };

interface Row {
  id: number; dataset_id: number; status: TrainingStatus; config_json: string; progress: number; step: number; message: string | null; timings_json: string;
  error: string | null; pid: number | null; heartbeat_at_ms: number | null; resume_of: number | null; model_version_id: number | null; created_at_ms: number;
  started_at_ms: number | null; finished_at_ms: number | null;
}

export const toTrainingRun = (r: Row): TrainingRun => ({
  id: r.id, datasetId: r.dataset_id, status: r.status, config: JSON.parse(r.config_json), progress: r.progress, step: r.step, message: r.message,
  timings: JSON.parse(r.timings_json) as Record<string, number>, error: r.error, pid: r.pid, heartbeatAtMs: r.heartbeat_at_ms, resumeOf: r.resume_of,
  modelVersionId: r.model_version_id, createdAtMs: r.created_at_ms, startedAtMs: r.started_at_ms, finishedAtMs: r.finished_at_ms,
});

function getRow(db: Db, id: number): Row {
  const r = cached(db, `SELECT * FROM training_runs WHERE id = ?`).get(id) as Row | undefined;
  if (!r) throw notFound('Training run', id);
  return r;
}

function wrongState(r: Row, action: string): AppError {
  return new AppError('CONFLICT', `Training run #${r.id} is ${r.status}; it cannot ${action}.`, { hint: 'Refresh the list of runs.' });
}

function asTimings(v: unknown): Record<string, number> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('timings must be an object of durations in milliseconds.');
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = asFinite(x, `timings.${k}`, 0);
  return out;
}

export function createTrainingRun(store: Store, input: { datasetId: number; config?: unknown }): TrainingRun {
  const datasetId = asId(input.datasetId, 'datasetId');
  const db = store.db;
  if (!cached(db, `SELECT 1 FROM datasets WHERE id = ?`).get(datasetId)) throw notFound('Dataset', datasetId);
  return toTrainingRun(cached(db, `INSERT INTO training_runs (dataset_id, status, config_json, created_at_ms) VALUES (?, 'queued', ?, ?) RETURNING *`)
    .get(datasetId, asJson(input.config ?? {}, 'config'), now()) as Row);
}

export function getTrainingRun(store: Store, id: unknown): TrainingRun {
  return toTrainingRun(getRow(store.db, asId(id, 'trainingRunId')));
}

export function listTrainingRuns(store: Store, input: { datasetId?: number; status?: TrainingStatus | TrainingStatus[] } = {}): TrainingRun[] {
  const datasetId = asOptionalId(input.datasetId, 'datasetId') ?? null;
  const statuses = input.status === undefined ? null : (Array.isArray(input.status) ? input.status : [input.status]).map((s) => asOneOf(s, 'status', TRAINING_STATUSES));
  const rows = cached(store.db, `SELECT * FROM training_runs WHERE (@datasetId IS NULL OR dataset_id = @datasetId) AND (@statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses))) ORDER BY id DESC`)
    .all({ datasetId, statuses: statuses === null ? null : JSON.stringify(statuses) }) as Row[];
  return rows.map(toTrainingRun);
}

/** The worker took the run: queued -> running, recording its pid and a first heartbeat. */
export function markTrainingRunning(store: Store, input: { runId: number; pid?: number }): TrainingRun {
  const runId = asId(input.runId, 'runId');
  const pid = input.pid === undefined ? process.pid : asInt(input.pid, 'pid', 1, 2 ** 31 - 1);
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, runId);
    if (r.status !== 'queued') throw wrongState(r, 'start');
    const t = now();
    return toTrainingRun(cached(db, `UPDATE training_runs SET status = 'running', pid = ?, heartbeat_at_ms = ?, started_at_ms = coalesce(started_at_ms, ?), finished_at_ms = NULL, error = NULL WHERE id = ? RETURNING *`)
      .get(pid, t, t, runId) as Row);
  }).immediate();
}

function requireRunning(db: Db, runId: number): Row {
  const r = getRow(db, runId);
  if (r.status === 'cancelled') throw new AppError('CANCELLED', `Training run #${runId} was cancelled.`);
  if (r.status !== 'running') throw wrongState(r, 'record progress');
  return r;
}

export function heartbeatTrainingRun(store: Store, runId: number): void {
  const id = asId(runId, 'runId');
  const db = store.db;
  db.transaction(() => {
    requireRunning(db, id);
    cached(db, `UPDATE training_runs SET heartbeat_at_ms = ? WHERE id = ?`).run(now(), id);
  }).immediate();
}

export interface TrainingProgressInput {
  runId: number;
  /** 0..1 over the whole run. */
  progress: number;
  /** Monotonic step counter; loss points are recorded at this step. */
  step: number;
  message?: string;
  /** Loss values at this step, by series name (e.g. `loss`, `loss.level0`, `valAuroc`). */
  losses?: Record<string, number>;
  timings?: Record<string, number>;
}

/**
 * Records progress and loss points for one step in one transaction, and refreshes the
 * heartbeat. Throws CANCELLED when the run was cancelled meanwhile (the worker stops).
 */
export function appendTrainingProgress(store: Store, input: TrainingProgressInput): void {
  const runId = asId(input.runId, 'runId');
  const progress = asFinite(input.progress, 'progress', 0, 1);
  const step = asInt(input.step, 'step', 0, Number.MAX_SAFE_INTEGER);
  const message = input.message === undefined ? null : asText(input.message, 'message', { maxLength: 1000, allowEmpty: true });
  const losses: [string, number][] = [];
  if (input.losses !== undefined) {
    if (input.losses === null || typeof input.losses !== 'object') throw bad('losses must be an object of numbers.');
    for (const [k, v] of Object.entries(input.losses)) {
      if (k.length === 0 || k.length > 100) throw bad('Loss series names must be 1 to 100 characters.');
      losses.push([k, asFinite(v, `losses.${k}`)]);
    }
  }
  const timings = input.timings === undefined ? undefined : asTimings(input.timings);
  const db = store.db;
  db.transaction(() => {
    const r = requireRunning(db, runId);
    const insert = cached(db, `INSERT OR REPLACE INTO training_loss (run_id, series, step, value) VALUES (?, ?, ?, ?)`);
    for (const [series, value] of losses) insert.run(runId, series, step, value);
    cached(db, `UPDATE training_runs SET progress = ?, step = ?, message = coalesce(?, message), timings_json = ?, heartbeat_at_ms = ? WHERE id = ?`)
      .run(progress, step, message, timings === undefined ? r.timings_json : JSON.stringify({ ...(JSON.parse(r.timings_json) as object), ...timings }), now(), runId);
  }).immediate();
}

/** Loss curves of a run: series name -> [step, value] points in step order. */
export function getLossCurves(store: Store, runId: unknown): Record<string, [number, number][]> {
  const id = asId(runId, 'runId');
  getRow(store.db, id);
  const out: Record<string, [number, number][]> = {};
  for (const p of cached(store.db, `SELECT series, step, value FROM training_loss WHERE run_id = ? ORDER BY series, step`).all(id) as { series: string; step: number; value: number }[]) {
    (out[p.series] ??= []).push([p.step, p.value]);
  }
  return out;
}

/**
 * Completes a running run and creates its model version in the same transaction, so a
 * completed run always has its model and vice versa.
 */
export function completeTrainingRun(store: Store, input: { runId: number; model: Omit<CreateModelVersionInput, 'datasetId' | 'trainingRunId'>; timings?: Record<string, number> }): { run: TrainingRun; modelVersion: ModelVersion } {
  const runId = asId(input.runId, 'runId');
  const timings = input.timings === undefined ? undefined : asTimings(input.timings);
  const db = store.db;
  return db.transaction(() => {
    const r = requireRunning(db, runId);
    const modelVersion = createModelVersion(store, { ...input.model, datasetId: r.dataset_id, trainingRunId: runId });
    const merged = timings === undefined ? r.timings_json : JSON.stringify({ ...(JSON.parse(r.timings_json) as object), ...timings });
    const run = toTrainingRun(cached(db, `UPDATE training_runs SET status = 'completed', progress = 1, model_version_id = ?, timings_json = ?, finished_at_ms = ?, heartbeat_at_ms = ? WHERE id = ? RETURNING *`)
      .get(modelVersion.id, merged, now(), now(), runId) as Row);
    return { run, modelVersion };
  }).immediate();
}

export function failTrainingRun(store: Store, input: { runId: number; error: string }): TrainingRun {
  const runId = asId(input.runId, 'runId');
  const error = asText(input.error, 'error', { maxLength: 10_000 });
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, runId);
    if (r.status !== 'running' && r.status !== 'queued') throw wrongState(r, 'fail');
    return toTrainingRun(cached(db, `UPDATE training_runs SET status = 'failed', error = ?, finished_at_ms = ? WHERE id = ? RETURNING *`).get(error, now(), runId) as Row);
  }).immediate();
}

/** Cancels a queued or running run (a running worker notices at its next progress update). */
export function cancelTrainingRun(store: Store, runId: unknown): TrainingRun {
  const id = asId(runId, 'runId');
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, id);
    if (r.status === 'cancelled') return toTrainingRun(r);
    if (r.status !== 'running' && r.status !== 'queued' && r.status !== 'interrupted') throw wrongState(r, 'be cancelled');
    return toTrainingRun(cached(db, `UPDATE training_runs SET status = 'cancelled', finished_at_ms = ? WHERE id = ? RETURNING *`).get(now(), id) as Row);
  }).immediate();
}

/** Queues an interrupted run again; it keeps its step, progress and loss curves so training can continue from its last checkpoint. */
export function resumeTrainingRun(store: Store, runId: unknown): TrainingRun {
  const id = asId(runId, 'runId');
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, id);
    if (r.status !== 'interrupted') throw wrongState(r, 'be resumed (only interrupted runs can)');
    return toTrainingRun(cached(db, `UPDATE training_runs SET status = 'queued', pid = NULL, heartbeat_at_ms = NULL, finished_at_ms = NULL, error = NULL WHERE id = ? RETURNING *`).get(id) as Row);
  }).immediate();
}

/** Clean-up of an interrupted run: it becomes 'cancelled' (kept for history with its curves). */
export function discardTrainingRun(store: Store, runId: unknown): TrainingRun {
  const id = asId(runId, 'runId');
  const db = store.db;
  return db.transaction(() => {
    const r = getRow(db, id);
    if (r.status !== 'interrupted') throw wrongState(r, 'be discarded (only interrupted runs can)');
    return toTrainingRun(cached(db, `UPDATE training_runs SET status = 'cancelled', error = coalesce(error, 'Interrupted') || ' Discarded.', finished_at_ms = ? WHERE id = ? RETURNING *`).get(now(), id) as Row);
  }).immediate();
}
