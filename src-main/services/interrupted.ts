/** What a crash left behind, for the "resume or clean up" prompt at start-up. */
import { listImportRuns, type ImportRun } from './import';
import { toInspectionRun, type InspectionRun } from './inspections';
import { markStaleRunsInterrupted } from './recovery';
import { DEFAULT_STALE_AFTER_MS, type Store } from './store';
import { listTrainingRuns, type TrainingRun } from './training-runs';

export interface InterruptedWork {
  trainingRuns: TrainingRun[];
  importRuns: ImportRun[];
  inspectionRuns: InspectionRun[];
}

/**
 * Marks runs whose process is gone as 'interrupted' (as opening the store does) and lists
 * every interrupted run. Training runs: `resumeTrainingRun` or `discardTrainingRun`;
 * imports: import the same folder again (done images are skipped); inspections:
 * `resumeInspectionRun` or `finishInspectionRun(..., 'cancelled')`.
 */
export function recoverInterrupted(store: Store, opts: { staleAfterMs?: number } = {}): InterruptedWork {
  markStaleRunsInterrupted(store.db, { staleAfterMs: opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS });
  const inspections = store.db.prepare(`SELECT * FROM inspection_runs WHERE status = 'interrupted' ORDER BY id DESC`).all() as Parameters<typeof toInspectionRun>[0][];
  return {
    trainingRuns: listTrainingRuns(store, { status: 'interrupted' }),
    importRuns: listImportRuns(store, { status: 'interrupted' }),
    inspectionRuns: inspections.map(toInspectionRun),
  };
}
