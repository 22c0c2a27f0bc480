/**
 * Runs left 'running' by a process that died (killed, crashed, power cut) are found when the
 * store opens and marked 'interrupted', so the user can resume or clean them up. A
 * read-only open (full disk, read-only folder, read-only commands) only finds them.
 */
import type { Db } from './database';
import { isPidAlive } from './maintenance';

export { isPidAlive };

export interface StaleRunsReport {
  importRuns: number[];
  trainingRuns: number[];
  inspectionRuns: number[];
}

const RUN_TABLES = [
  ['import_runs', 'importRuns'],
  ['training_runs', 'trainingRuns'],
  ['inspection_runs', 'inspectionRuns'],
] as const;

export function isRunStale(run: { pid: number | null; heartbeat_at_ms: number | null }, nowMs: number, staleAfterMs: number): boolean {
  if (run.pid === null || !isPidAlive(run.pid)) return true;
  return run.heartbeat_at_ms === null || nowMs - run.heartbeat_at_ms > staleAfterMs;
}

type Running = { id: number; pid: number | null; heartbeat_at_ms: number | null };
type Candidate = { table: string; key: keyof StaleRunsReport; run: Running };

function staleCandidates(db: Db, staleAfterMs: number, nowMs: number): Candidate[] {
  const hasTable = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`);
  const candidates: Candidate[] = [];
  for (const [table, key] of RUN_TABLES) {
    if (!hasTable.get(table)) continue; // older schema (read-only opens, migration tests)
    for (const r of db.prepare(`SELECT id, pid, heartbeat_at_ms FROM ${table} WHERE status = 'running'`).all() as Running[]) {
      if (isRunStale(r, nowMs, staleAfterMs)) candidates.push({ table, key, run: r });
    }
  }
  return candidates;
}

/**
 * The runs left 'running' by a process that is gone, found with reads only (nothing is
 * marked): what a read-only open reports as interrupted.
 */
export function findStaleRuns(db: Db, { staleAfterMs, nowMs = Date.now() }: { staleAfterMs: number; nowMs?: number }): StaleRunsReport {
  const report: StaleRunsReport = { importRuns: [], trainingRuns: [], inspectionRuns: [] };
  for (const c of staleCandidates(db, staleAfterMs, nowMs)) report[c.key].push(c.run.id);
  return report;
}

export function markStaleRunsInterrupted(db: Db, { staleAfterMs, nowMs = Date.now() }: { staleAfterMs: number; nowMs?: number }): StaleRunsReport {
  const report: StaleRunsReport = { importRuns: [], trainingRuns: [], inspectionRuns: [] };
  // Look first with a plain read, so opening the store takes no write lock in the usual
  // case (nothing was left running) and never waits for another process's writer.
  const candidates = staleCandidates(db, staleAfterMs, nowMs);
  if (candidates.length === 0) return report;
  db.transaction(() => {
    for (const { table, key, run: r } of candidates) {
      const why = r.pid !== null && isPidAlive(r.pid) ? `no heartbeat for ${Math.round((nowMs - (r.heartbeat_at_ms ?? 0)) / 1000)} s` : `process ${r.pid ?? '?'} ended without finishing`;
      // Only if nothing changed meanwhile (the run may have sent a heartbeat or finished).
      const changed = db.prepare(`UPDATE ${table} SET status = 'interrupted', finished_at_ms = ?, error = COALESCE(error, ?)
        WHERE id = ? AND status = 'running' AND pid IS ? AND heartbeat_at_ms IS ?`).run(nowMs, `Interrupted: ${why}.`, r.id, r.pid, r.heartbeat_at_ms).changes;
      if (changed) report[key].push(r.id);
    }
  }).immediate();
  return report;
}

/**
 * A completed import went through every file of its source: the earlier interrupted imports
 * of the same source (same dataset, same folder) are finished by it. They keep their status
 * and history, with "Finished by import #N." added to their error, and are no longer offered
 * for resuming (recoverInterrupted leaves them out). Call inside the transaction that marks
 * `completedRunId` completed.
 */
export function noteImportsFinishedBy(db: Db, completedRunId: number): number {
  return db
    .prepare(
      `UPDATE import_runs SET error = COALESCE(error || ' ', '') || 'Finished by import #' || @id || '.'
       WHERE status = 'interrupted' AND id < @id
         AND dataset_id = (SELECT dataset_id FROM import_runs WHERE id = @id)
         AND source = (SELECT source FROM import_runs WHERE id = @id)
         AND (error IS NULL OR error NOT LIKE '%Finished by import #%')`,
    )
    .run({ id: completedRunId }).changes;
}
