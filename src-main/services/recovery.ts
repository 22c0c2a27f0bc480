/**
 * Runs left 'running' by a process that died (killed, crashed, power cut) are found when the
 * store opens and marked 'interrupted', so the user can resume or clean them up.
 */
import type { Db } from '../db/database';

export interface StaleRunsReport {
  importRuns: number[];
  trainingRuns: number[];
  inspectionRuns: number[];
}

/** Whether a process with this id exists on this machine (EPERM means it exists). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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

export function markStaleRunsInterrupted(db: Db, { staleAfterMs, nowMs = Date.now() }: { staleAfterMs: number; nowMs?: number }): StaleRunsReport {
  const report: StaleRunsReport = { importRuns: [], trainingRuns: [], inspectionRuns: [] };
  const hasTable = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`);
  type Running = { id: number; pid: number | null; heartbeat_at_ms: number | null };
  // Look first with a plain read, so opening the store takes no write lock in the usual
  // case (nothing was left running) and never waits for another process's writer.
  const candidates: { table: string; key: keyof StaleRunsReport; run: Running }[] = [];
  for (const [table, key] of RUN_TABLES) {
    if (!hasTable.get(table)) continue; // older schema during migration tests
    for (const r of db.prepare(`SELECT id, pid, heartbeat_at_ms FROM ${table} WHERE status = 'running'`).all() as Running[]) {
      if (isRunStale(r, nowMs, staleAfterMs)) candidates.push({ table, key, run: r });
    }
  }
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
