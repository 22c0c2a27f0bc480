/**
 * The store: one open database plus the data folder layout. Every service function takes
 * it as its first argument. Opening it migrates the schema and marks runs whose process
 * died (an import, a training job, an inspection) as 'interrupted'.
 */
import { dataLayout, ensureDataLayout, resolveDataDir, type DataLayout, type ResolveDataDirOptions } from '../db/paths';
import { openDatabase, type Db } from '../db/database';
import { markStaleRunsInterrupted, type StaleRunsReport } from './recovery';

export interface Store {
  readonly db: Db;
  readonly layout: DataLayout;
  /** What was found interrupted when the store was opened. */
  readonly recovered: StaleRunsReport;
  close(): void;
}

export interface OpenStoreOptions extends ResolveDataDirOptions {
  /** A 'running' run whose heartbeat is older than this is considered dead (default 120 s). */
  staleAfterMs?: number;
  /** Skip the interrupted-run sweep (tools that only read). */
  skipRecovery?: boolean;
  /** Migrate only up to this schema version (tests). */
  targetVersion?: number;
  busyTimeoutMs?: number;
}

export const DEFAULT_STALE_AFTER_MS = 120_000;

export function openStore(opts: OpenStoreOptions = {}): Store {
  const layout = dataLayout(resolveDataDir(opts));
  ensureDataLayout(layout);
  const db = openDatabase(layout.dbFile, { targetVersion: opts.targetVersion, busyTimeoutMs: opts.busyTimeoutMs });
  let recovered: StaleRunsReport = { importRuns: [], trainingRuns: [], inspectionRuns: [] };
  try {
    if (!opts.skipRecovery) recovered = markStaleRunsInterrupted(db, { staleAfterMs: opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS });
  } catch (e) {
    db.close();
    throw e;
  }
  let isOpen = true;
  return {
    db,
    layout,
    recovered,
    close() {
      if (!isOpen) return;
      isOpen = false;
      db.close();
    },
  };
}

export function now(): number {
  return Date.now();
}
