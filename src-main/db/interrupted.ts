/** What a crash left behind, for the "resume or clean up" prompt at start-up. */
import type { Db } from './database';
import { toImportRun } from './import-runs';
import type { ImportRun } from '../common/records';
import { toInspectionRun, type InspectionRun } from './inspections';
import { findStaleRuns, markStaleRunsInterrupted, type StaleRunsReport } from './recovery';
import { DEFAULT_STALE_AFTER_MS, isHousekeepingFailure, type Store } from './store';
import { toTrainingRun, type TrainingRun } from './training-runs';

export interface InterruptedWork {
  trainingRuns: TrainingRun[];
  importRuns: ImportRun[];
  inspectionRuns: InspectionRun[];
}

function hasTable(db: Db, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

/** Rows that are 'interrupted', or 'running' with a dead process but not marked yet (ids in `unmarked`), newest first. */
function interruptedRows<R extends { status: string }>(db: Db, table: string, unmarked: number[], extraWhere = ''): R[] {
  const rows = db
    .prepare(`SELECT * FROM ${table} r WHERE (r.status = 'interrupted' OR (r.status = 'running' AND r.id IN (SELECT value FROM json_each(?))))${extraWhere} ORDER BY r.id DESC`)
    .all(JSON.stringify(unmarked)) as R[];
  return rows.map((r) => ({ ...r, status: 'interrupted' }));
}

/**
 * An interrupted import is done with once a later import of the same source (same dataset,
 * same folder) has completed: that import went through every file, skipping what the
 * interrupted one had already added. Such runs keep their row and history (import.ts notes
 * "Finished by import #N." in their error) but are not offered for resuming any more.
 */
const NOT_SUPERSEDED = ` AND NOT EXISTS (SELECT 1 FROM import_runs later
  WHERE later.dataset_id = r.dataset_id AND later.source = r.source AND later.status = 'completed' AND later.id > r.id)`;

/**
 * Marks runs whose process is gone as 'interrupted' (as opening the store does) and lists
 * every interrupted run. Training runs: `resumeTrainingRun` or `discardTrainingRun`;
 * imports: import the same folder again (done images are skipped); inspections:
 * `resumeInspectionRun` or `finishInspectionRun(..., 'cancelled')`.
 *
 * On a read-only store, or when the marks cannot be written (full disk, read-only folder),
 * nothing is written: runs left 'running' by a dead process are listed as interrupted all
 * the same. Imports finished by a later completed import of the same source are left out.
 */
export function recoverInterrupted(store: Store, opts: { staleAfterMs?: number } = {}): InterruptedWork {
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  let unmarked: StaleRunsReport = { importRuns: [], trainingRuns: [], inspectionRuns: [] };
  if (store.readonly) unmarked = findStaleRuns(store.db, { staleAfterMs });
  else {
    try {
      markStaleRunsInterrupted(store.db, { staleAfterMs });
    } catch (e) {
      if (!isHousekeepingFailure(e)) throw e;
      unmarked = findStaleRuns(store.db, { staleAfterMs });
    }
  }
  const db = store.db;
  return {
    trainingRuns: hasTable(db, 'training_runs') ? interruptedRows<Parameters<typeof toTrainingRun>[0]>(db, 'training_runs', unmarked.trainingRuns).map(toTrainingRun) : [],
    importRuns: hasTable(db, 'import_runs') ? interruptedRows<Parameters<typeof toImportRun>[0]>(db, 'import_runs', unmarked.importRuns, NOT_SUPERSEDED).map(toImportRun) : [],
    inspectionRuns: hasTable(db, 'inspection_runs') ? interruptedRows<Parameters<typeof toInspectionRun>[0]>(db, 'inspection_runs', unmarked.inspectionRuns).map(toInspectionRun) : [],
  };
}
