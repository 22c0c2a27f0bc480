/**
 * The data-layer services, for the composition roots (CLI, HTTP server, Electron main).
 * Every function takes the `Store` from `openStore()` first.
 */
export { openStore, DEFAULT_STALE_AFTER_MS, type Store, type OpenStoreOptions } from './store';
export * from './datasets';
export * from './defect-types';
export * from './images';
export * from './masks';
export * from './import';
export * from './training-runs';
export * from './model-versions';
export * from './inspections';
export * from './audit';
export { recoverInterrupted, type InterruptedWork } from './interrupted';
export { benchDb, type BenchDbOptions, type BenchDbResult } from './bench-db';
export { resolveDataDir, dataLayout, defaultDataDir, type DataLayout } from '../db/paths';
export { checkDatabase, backupDatabase, type CheckReport } from '../db/maintenance';
