import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type CliIO, type Command } from '../command';
import { backupDatabase, checkDatabase, removeOrphanFiles } from '../../db/maintenance';
import { LATEST_VERSION } from '../../db/migrations';
import { openReadOnlyDatabase, schemaVersion } from '../../db/database';
import { dataLayout, resolveDataDir } from '../../db/paths';
import { diagnoseStorage, freeBytes } from '../../db/storage-errors';
import { openStore, type Store } from '../../db/store';
import { recoverInterrupted } from '../../db/interrupted';

const ACTIONS = ['check', 'backup', 'info', 'migrate'] as const;

function printWarnings(io: CliIO, store: Store): void {
  for (const w of store.warnings) io.err(`Note: ${w}`);
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

/** Whether the data folder can be written now: 'ok', 'disk-full' or 'read-only'. */
function storageState(root: string): { storage: 'ok' | 'disk-full' | 'read-only'; freeBytes: number | null; text: string } {
  const problem = diagnoseStorage(root);
  const free = freeBytes(root);
  if (problem === 'READ_ONLY') {
    return { storage: 'read-only', freeBytes: free, text: 'read-only: nothing can be changed until the folder is writable again; reading and "bgad db backup --out FILE" work' };
  }
  if (problem === 'DISK_FULL') {
    return { storage: 'disk-full', freeBytes: free, text: `the disk is full (${formatBytes(free ?? 0)} free): free some space; reading and "bgad db backup --out FILE" (to another disk) work` };
  }
  return { storage: 'ok', freeBytes: free, text: free === null ? 'writable' : `writable, ${formatBytes(free)} free` };
}

const command: Command = {
  name: 'db',
  summary: 'Database maintenance: check, backup, info, migrate',
  usage: [
    'Usage: bgad db check  [--data-dir DIR] [--json] [--remove-orphans]',
    '                      integrity + foreign keys + referenced files exist (only reads);',
    '                      --remove-orphans (opens to write) deletes unreferenced mask files older than',
    '                      10 minutes, never one a row references; temp files of dead processes go too',
    '       bgad db backup [--out FILE] [--data-dir DIR]  online backup (default: backups/ in the data folder);',
    '                      only reads the database: on a full disk, --out FILE on another disk still works',
    '       bgad db info   [--data-dir DIR] [--json]   where the data is, schema version, interrupted runs (only reads)',
    '       bgad db migrate [--data-dir DIR]           bring the schema up to date (opening to write does it too)',
  ].join('\n'),
  options: { out: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' }, 'remove-orphans': { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }, io) {
    const action = positionals[0];
    if (!action || !(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`choose an action: ${ACTIONS.join(', ')}`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (values.out !== undefined && action !== 'backup') throw new UsageError('--out is only for "bgad db backup"');
    if (values['remove-orphans'] !== undefined && action !== 'check') throw new UsageError('--remove-orphans is only for "bgad db check"');
    const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined;
    const layout = dataLayout(resolveDataDir({ dataDir }));

    if (action === 'migrate') {
      // Only open to write when there is something to do: "already up to date" needs no write.
      if (existsSync(layout.dbFile)) {
        const ro = openReadOnlyDatabase(layout.dbFile);
        ro.db.close();
        if (ro.version === LATEST_VERSION) {
          io.out(`Database ${layout.dbFile} is at schema ${ro.version} (latest ${LATEST_VERSION}); nothing to migrate.`);
          return 0;
        }
      }
      const store = openStore({ dataDir });
      try {
        printWarnings(io, store);
        io.out(`Database ${store.layout.dbFile} is at schema ${schemaVersion(store.db)} (latest ${LATEST_VERSION}).`);
        return 0;
      } finally {
        store.close();
      }
    }

    if (action === 'info' && !existsSync(layout.dbFile)) {
      const state = existsSync(layout.root) ? storageState(layout.root) : null;
      if (values.json === true) io.out(JSON.stringify({ dataDir: layout.root, dbFile: layout.dbFile, exists: false, schemaVersion: null, latestSchemaVersion: LATEST_VERSION }, null, 2));
      else {
        io.out(`Data folder: ${layout.root}${existsSync(layout.root) ? '' : ' (does not exist yet)'}`);
        io.out(`Database:    ${layout.dbFile} (no database yet; "bgad import FOLDER" creates it)`);
        if (state) io.out(`Storage:     ${state.text}`);
      }
      return 0;
    }

    // Everything else only reads, except the --remove-orphans repair.
    const repair = action === 'check' && values['remove-orphans'] === true;
    const store = openStore({ dataDir, readonly: !repair });
    try {
      printWarnings(io, store);
      if (action === 'check') {
        const r = checkDatabase(store.db, store.layout);
        const removed = repair ? removeOrphanFiles(store.layout, r.orphanFiles, undefined, store.db) : 0;
        if (values.json === true) io.out(JSON.stringify({ dataDir: store.layout.root, ...r, warnings: store.warnings }, null, 2));
        else {
          io.out(`Database ${store.layout.dbFile} (schema ${r.schemaVersion}${r.schemaVersion < LATEST_VERSION ? ` of ${LATEST_VERSION}` : ''})`);
          io.out(`  integrity:      ${r.integrity.length === 0 ? 'ok' : r.integrity.length + ' problem(s)'}`);
          for (const l of r.integrity.slice(0, 20)) io.out(`    ${l}`);
          io.out(`  foreign keys:   ${r.foreignKeys.length === 0 ? 'ok' : r.foreignKeys.length + ' broken reference(s)'}`);
          for (const f of r.foreignKeys.slice(0, 20)) io.out(`    ${f.table} row ${f.rowid ?? '?'} -> missing ${f.parent}`);
          io.out(`  files:          ${r.missingFiles.length === 0 ? 'all referenced files exist' : r.missingFiles.length + ' missing'}`);
          for (const f of r.missingFiles.slice(0, 20)) io.out(`    ${f.table} #${f.id}: ${f.file}`);
          if (r.orphanFiles.length) {
            io.out(`  unreferenced files in masks/: ${r.orphanFiles.length} (left by interrupted saves or imports; harmless)${repair ? `, ${removed} removed` : '; "bgad db check --remove-orphans" removes those older than 10 minutes'}`);
          }
          if (r.tempFiles.length) io.out(`  temp files of writes that never finished: ${r.tempFiles.length} (harmless; removed by the next command that writes, once 5 minutes old)`);
          io.out(`  rows:           ${Object.entries(r.counts).map(([t, n]) => `${t} ${n}`).join(', ')}`);
          io.out(r.ok ? 'OK' : 'PROBLEMS FOUND: restore the data folder from a backup ("bgad db backup" makes one), or re-import/repaint the items listed.');
        }
        return r.ok ? 0 : 1;
      }
      if (action === 'backup') {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const out = typeof values.out === 'string' && values.out !== '' ? values.out : join(store.layout.backupsDir, `bgad-${stamp}.sqlite`);
        const r = await backupDatabase(store.db, out, { sourceFile: store.layout.dbFile });
        io.out(`Backed up ${store.layout.dbFile} to ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB).`);
        io.out(`Mask PNGs and model bundles are files in ${store.layout.masksDir} and ${store.layout.bundlesDir}; copy them along to keep a complete backup.`);
        return 0;
      }
      // info
      const interrupted = recoverInterrupted(store);
      const state = storageState(store.layout.root);
      const info = {
        dataDir: store.layout.root,
        dbFile: store.layout.dbFile,
        exists: true,
        schemaVersion: store.schemaVersion,
        latestSchemaVersion: LATEST_VERSION,
        storage: state.storage,
        freeBytes: state.freeBytes,
        interrupted: {
          trainingRuns: interrupted.trainingRuns.map((r) => ({ id: r.id, datasetId: r.datasetId, step: r.step, progress: r.progress })),
          importRuns: interrupted.importRuns.map((r) => ({ id: r.id, datasetId: r.datasetId, source: r.source, imported: r.imported, total: r.total })),
          inspectionRuns: interrupted.inspectionRuns.map((r) => ({ id: r.id, source: r.source })),
        },
        warnings: store.warnings,
      };
      if (values.json === true) io.out(JSON.stringify(info, null, 2));
      else {
        io.out(`Data folder: ${info.dataDir}`);
        io.out(`Database:    ${info.dbFile} (schema ${info.schemaVersion} of ${info.latestSchemaVersion}${info.schemaVersion < LATEST_VERSION ? '; run "bgad db migrate" to bring it up to date' : ''})`);
        io.out(`Storage:     ${state.text}`);
        const i = info.interrupted;
        io.out(`Interrupted: ${i.trainingRuns.length} training run(s), ${i.importRuns.length} import(s), ${i.inspectionRuns.length} inspection run(s)`);
        for (const r of i.importRuns) io.out(`  import #${r.id}: ${r.source} (${r.imported}/${r.total}); run "bgad import ${r.source}" again to finish it`);
        for (const r of i.trainingRuns) io.out(`  training run #${r.id} of dataset #${r.datasetId} at step ${r.step} (${Math.round(r.progress * 100)} %)`);
      }
      return 0;
    } finally {
      store.close();
    }
  },
};

export default command;
