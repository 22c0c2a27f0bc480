/**
 * The data layer, for the composition roots (CLI, HTTP server, Electron main): the data
 * folder, its SQLite database and the repositories over it. Every repository function takes
 * the `Store` from `openStore()` first.
 */
export { openStore, DEFAULT_STALE_AFTER_MS, type Store, type OpenStoreOptions } from './store';
export * from './datasets';
export * from './defect-types';
export * from './images';
export * from './masks';
export * from './import-runs';
export * from './training-runs';
export * from './model-versions';
export * from './inspections';
export * from './audit';
export { fileAccess, type FileAccess } from './file-access';
export { recoverInterrupted, type InterruptedWork } from './interrupted';
export { resolveDataDir, dataLayout, defaultDataDir, type DataLayout } from './paths';
export { checkDatabase, backupDatabase, type CheckReport } from './maintenance';
