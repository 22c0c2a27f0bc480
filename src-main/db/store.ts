/**
 * The store: one open database plus the data folder layout. Every service function takes
 * it as its first argument.
 *
 * A writable open (the default) creates the data folder, migrates the schema, marks runs
 * whose process died (an import, a training job, an inspection) as 'interrupted' and
 * removes the temp files of atomic writes that such processes left in the data folder
 * (once 5 minutes old; see removeLeftoverTempFiles). The last two are
 * housekeeping: when they cannot be written (full disk, read-only folder, another writer
 * holding the lock) the open still succeeds and says so in `warnings`.
 *
 * A read-only open (`readonly: true`, used by the commands that only read) writes nothing
 * at all (no folder, no migration, no WAL switch, no recovery marks), so it works on a full
 * disk and in a read-only folder. A schema older than this version's is read as it is
 * (`warnings` says that `bgad db migrate` brings it up to date; `readingSchema` turns a
 * query the old schema cannot answer into a DB_TOO_OLD error).
 */
import { existsSync } from 'node:fs';
import { AppError, isAppError } from '../common/errors';
import { dataLayout, ensureDataLayout, resolveDataDir, type DataLayout, type ResolveDataDirOptions } from './paths';
import { openDatabase, openReadOnlyDatabase, schemaVersion, type Db } from './database';
import { LATEST_VERSION } from './migrations';
import { diagnoseStorage } from './storage-errors';
import { removeLeftoverTempFiles } from './maintenance';
import { markStaleRunsInterrupted, type StaleRunsReport } from './recovery';

export interface Store {
  readonly db: Db;
  readonly layout: DataLayout;
  /** What was marked interrupted when the store was opened (always empty on a read-only open). */
  readonly recovered: StaleRunsReport;
  /** Opened read-only: nothing is written through this store. */
  readonly readonly: boolean;
  /** The schema version of the database (older than LATEST_VERSION only on a read-only open or with `targetVersion`). */
  readonly schemaVersion: number;
  /** What the user should know about this open, one sentence each (older schema, housekeeping that could not be written, ...). */
  readonly warnings: readonly string[];
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
  /**
   * Open read-only: the database must exist (NOT_FOUND otherwise); nothing is created,
   * migrated or marked. For the commands that only read (`bgad datasets`, `bgad db info`,
   * `bgad db check`, `bgad db backup`).
   */
  readonly?: boolean;
}

export const DEFAULT_STALE_AFTER_MS = 120_000;

const EMPTY_REPORT = (): StaleRunsReport => ({ importRuns: [], trainingRuns: [], inspectionRuns: [] });

/**
 * Whether an error of best-effort housekeeping (recovery marks, temp-file sweep) may be
 * reported as a warning instead of failing the open: the disk is full or read-only or
 * failing, or another process holds the write lock for longer than the busy timeout.
 */
export function isHousekeepingFailure(e: unknown): boolean {
  if (isAppError(e)) return e.code === 'DISK_FULL' || e.code === 'READ_ONLY' || e.code === 'IO_ERROR';
  return /^SQLITE_(BUSY|LOCKED)/.test(String((e as { code?: unknown } | null)?.code ?? ''));
}

function describeFailure(e: unknown): string {
  return isAppError(e) ? e.message : (e as Error)?.message ?? String(e);
}

export function openStore(opts: OpenStoreOptions = {}): Store {
  const layout = dataLayout(resolveDataDir(opts));
  if (opts.readonly) return openReadOnlyStore(layout, opts);
  ensureDataLayout(layout);
  const db = openDatabase(layout.dbFile, { targetVersion: opts.targetVersion, busyTimeoutMs: opts.busyTimeoutMs });
  const warnings: string[] = [];
  let recovered = EMPTY_REPORT();
  try {
    if (!opts.skipRecovery) recovered = markStaleRunsInterrupted(db, { staleAfterMs: opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS });
  } catch (e) {
    if (!isHousekeepingFailure(e)) {
      db.close();
      throw e;
    }
    warnings.push(`Runs left behind by processes that ended could not be marked interrupted now (${describeFailure(e)}); the next open does it.`);
  }
  try {
    removeLeftoverTempFiles(layout); // temp files of killed writers, once their process is gone and they are 5 minutes old
  } catch {
    // housekeeping only: the next open tries again
  }
  return makeStore(db, layout, { recovered, readonly: false, schemaVersion: schemaVersion(db), warnings });
}

function openReadOnlyStore(layout: DataLayout, opts: OpenStoreOptions): Store {
  if (!existsSync(layout.dbFile)) {
    throw new AppError('NOT_FOUND', `There is no database in ${layout.root} (no database yet).`, {
      hint: 'Check --data-dir (or BGAD_DATA_DIR). "bgad import FOLDER" creates the database in a new data folder.',
      subject: layout.dbFile,
    });
  }
  const ro = openReadOnlyDatabase(layout.dbFile, { busyTimeoutMs: opts.busyTimeoutMs });
  const warnings: string[] = [];
  if (ro.version < LATEST_VERSION) warnings.push(olderSchemaNote(layout.dbFile, ro.version));
  if (ro.snapshot && ro.walNotRead) {
    const why = diagnoseStorage(layout.dbFile) === 'DISK_FULL' ? 'the disk is full' : 'the data folder is read-only';
    warnings.push(
      `${layout.dbFile} cannot be opened in place (${why}), so this command reads it as of its last checkpoint: the latest changes, still in ${layout.dbFile}-wal, are not shown. ` +
        'They are not lost: they are merged into the database the next time it is opened with space to write.',
    );
  }
  return makeStore(ro.db, layout, { recovered: EMPTY_REPORT(), readonly: true, schemaVersion: ro.version, warnings });
}

function makeStore(db: Db, layout: DataLayout, s: { recovered: StaleRunsReport; readonly: boolean; schemaVersion: number; warnings: string[] }): Store {
  let isOpen = true;
  return {
    db,
    layout,
    recovered: s.recovered,
    readonly: s.readonly,
    schemaVersion: s.schemaVersion,
    warnings: s.warnings,
    close() {
      if (!isOpen) return;
      isOpen = false;
      db.close();
    },
  };
}

export function olderSchemaNote(dbFile: string, version: number): string {
  return `The database ${dbFile} is at schema ${version}; this version of BGAD Inspector uses schema ${LATEST_VERSION}. Run "bgad db migrate" to bring it up to date (this command only reads it as it is).`;
}

/**
 * Runs a read; when the database's schema is older than this version's and lacks a table or
 * column the read needs, throws DB_TOO_OLD (saying to run `bgad db migrate`) instead of
 * the SQL error. `what`: what the read is for, e.g. "listing the datasets".
 */
export function readingSchema<T>(store: Store, what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (store.schemaVersion < LATEST_VERSION && /no such (table|column)/i.test((e as Error)?.message ?? '')) {
      throw new AppError('DB_TOO_OLD', `The database ${store.layout.dbFile} is at schema ${store.schemaVersion}, too old for ${what} (this version of BGAD Inspector uses schema ${LATEST_VERSION}).`, {
        hint: 'Run "bgad db migrate" to bring it up to date; it keeps all data and needs a writable data folder with some free space.',
        subject: store.layout.dbFile,
        cause: e,
      });
    }
    throw e;
  }
}

export function now(): number {
  return Date.now();
}
