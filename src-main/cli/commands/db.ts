import { join } from 'node:path';
import { UsageError, type Command } from '../command';
import { backupDatabase, checkDatabase, removeOrphanFiles } from '../../db/maintenance';
import { LATEST_VERSION } from '../../db/migrations';
import { schemaVersion } from '../../db/database';
import { openStore } from '../../services/store';
import { recoverInterrupted } from '../../services/interrupted';

const ACTIONS = ['check', 'backup', 'info', 'migrate'] as const;

const command: Command = {
  name: 'db',
  summary: 'Database maintenance: check, backup, info, migrate',
  usage: [
    'Usage: bgad db check  [--data-dir DIR] [--json] [--remove-orphans]',
    '                      integrity + foreign keys + referenced files exist; --remove-orphans',
    '                      deletes unreferenced mask files older than 10 minutes',
    '       bgad db backup [--out FILE] [--data-dir DIR]  online backup (default: backups/ in the data folder)',
    '       bgad db info   [--data-dir DIR] [--json]   where the data is, schema version, interrupted runs',
    '       bgad db migrate [--data-dir DIR]           bring the schema up to date (opening does it too)',
  ].join('\n'),
  options: { out: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' }, 'remove-orphans': { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals }, io) {
    const action = positionals[0];
    if (!action || !(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`choose an action: ${ACTIONS.join(', ')}`);
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (values.out !== undefined && action !== 'backup') throw new UsageError('--out is only for "bgad db backup"');
    if (values['remove-orphans'] !== undefined && action !== 'check') throw new UsageError('--remove-orphans is only for "bgad db check"');
    const store = openStore({ dataDir: typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined });
    try {
      if (action === 'check') {
        const r = checkDatabase(store.db, store.layout);
        const removed = values['remove-orphans'] === true ? removeOrphanFiles(store.layout, r.orphanFiles) : 0;
        if (values.json === true) io.out(JSON.stringify({ dataDir: store.layout.root, ...r }, null, 2));
        else {
          io.out(`Database ${store.layout.dbFile} (schema ${r.schemaVersion})`);
          io.out(`  integrity:      ${r.integrity.length === 0 ? 'ok' : r.integrity.length + ' problem(s)'}`);
          for (const l of r.integrity.slice(0, 20)) io.out(`    ${l}`);
          io.out(`  foreign keys:   ${r.foreignKeys.length === 0 ? 'ok' : r.foreignKeys.length + ' broken reference(s)'}`);
          for (const f of r.foreignKeys.slice(0, 20)) io.out(`    ${f.table} row ${f.rowid ?? '?'} -> missing ${f.parent}`);
          io.out(`  files:          ${r.missingFiles.length === 0 ? 'all referenced files exist' : r.missingFiles.length + ' missing'}`);
          for (const f of r.missingFiles.slice(0, 20)) io.out(`    ${f.table} #${f.id}: ${f.file}`);
          if (r.orphanFiles.length) io.out(`  unreferenced files in masks/: ${r.orphanFiles.length} (left by interrupted saves; harmless)${values['remove-orphans'] === true ? `, ${removed} removed` : ''}`);
          io.out(`  rows:           ${Object.entries(r.counts).map(([t, n]) => `${t} ${n}`).join(', ')}`);
          io.out(r.ok ? 'OK' : 'PROBLEMS FOUND: restore the data folder from a backup ("bgad db backup" makes one), or re-import/repaint the items listed.');
        }
        return r.ok ? 0 : 1;
      }
      if (action === 'backup') {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const out = typeof values.out === 'string' && values.out !== '' ? values.out : join(store.layout.backupsDir, `bgad-${stamp}.sqlite`);
        const r = await backupDatabase(store.db, out);
        io.out(`Backed up ${store.layout.dbFile} to ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB).`);
        io.out(`Mask PNGs and model bundles are files in ${store.layout.masksDir} and ${store.layout.bundlesDir}; copy them along to keep a complete backup.`);
        return 0;
      }
      if (action === 'migrate') {
        io.out(`Database ${store.layout.dbFile} is at schema ${schemaVersion(store.db)} (latest ${LATEST_VERSION}).`);
        return 0;
      }
      const interrupted = recoverInterrupted(store);
      const info = {
        dataDir: store.layout.root,
        dbFile: store.layout.dbFile,
        schemaVersion: schemaVersion(store.db),
        latestSchemaVersion: LATEST_VERSION,
        interrupted: {
          trainingRuns: interrupted.trainingRuns.map((r) => ({ id: r.id, datasetId: r.datasetId, step: r.step, progress: r.progress })),
          importRuns: interrupted.importRuns.map((r) => ({ id: r.id, datasetId: r.datasetId, source: r.source, imported: r.imported, total: r.total })),
          inspectionRuns: interrupted.inspectionRuns.map((r) => ({ id: r.id, source: r.source })),
        },
      };
      if (values.json === true) io.out(JSON.stringify(info, null, 2));
      else {
        io.out(`Data folder: ${info.dataDir}`);
        io.out(`Database:    ${info.dbFile} (schema ${info.schemaVersion} of ${info.latestSchemaVersion})`);
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
