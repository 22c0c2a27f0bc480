/**
 * The unseen-defect robustness reports of a dataset (common/robustness.ts), stored whole when
 * the `models.robustness` job completes: one row each, listed newest first.
 */
import type { RobustnessReport, RobustnessReportRecord } from '../common/robustness';
import { now, type Store } from './store';
import { asId, asInt, asJson, bad, notFound, parseJson } from './validate';

export type { RobustnessReportRecord } from '../common/robustness';

interface Row { id: number; dataset_id: number; config_json: string; report_json: string; duration_ms: number; created_at_ms: number }

const toRecord = (r: Row): RobustnessReportRecord => ({
  id: r.id, datasetId: r.dataset_id, config: parseJson(r.config_json), report: parseJson(r.report_json), durationMs: r.duration_ms, createdAtMs: r.created_at_ms,
});

/** Stores a finished report of a dataset (which must still exist). */
export function saveRobustnessReport(store: Store, input: { datasetId: unknown; config?: Record<string, unknown>; report: RobustnessReport; durationMs?: number }): RobustnessReportRecord {
  const datasetId = asId(input.datasetId, 'datasetId');
  if (!input.report || !Array.isArray(input.report.rows) || !Array.isArray(input.report.types)) throw bad('A robustness report needs its types and rows.');
  const config = asJson(input.config ?? {}, 'config');
  const report = asJson(input.report, 'report');
  const durationMs = asInt(Math.round(input.durationMs ?? 0), 'durationMs', 0, Number.MAX_SAFE_INTEGER);
  const db = store.db;
  return db.transaction(() => {
    if (!db.prepare(`SELECT 1 FROM datasets WHERE id = ?`).get(datasetId)) throw notFound('Dataset', datasetId);
    return toRecord(db.prepare(`INSERT INTO robustness_reports (dataset_id, config_json, report_json, duration_ms, created_at_ms) VALUES (?, ?, ?, ?, ?) RETURNING *`).get(datasetId, config, report, durationMs, now()) as Row);
  }).immediate();
}

/** A dataset's reports, newest first. */
export function listRobustnessReports(store: Store, datasetId: unknown): RobustnessReportRecord[] {
  const id = asId(datasetId, 'datasetId');
  return (store.db.prepare(`SELECT * FROM robustness_reports WHERE dataset_id = ? ORDER BY id DESC`).all(id) as Row[]).map(toRecord);
}

export function getRobustnessReport(store: Store, id: unknown): RobustnessReportRecord {
  const rid = asId(id, 'reportId');
  const r = store.db.prepare(`SELECT * FROM robustness_reports WHERE id = ?`).get(rid) as Row | undefined;
  if (!r) throw notFound('Robustness report', rid);
  return toRecord(r);
}
