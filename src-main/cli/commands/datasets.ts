import { existsSync } from 'node:fs';
import { UsageError, type Command } from '../command';
import { dataLayout, resolveDataDir } from '../../db/paths';
import { listDatasets } from '../../db/datasets';
import { openStore, readingSchema } from '../../db/store';

const command: Command = {
  name: 'datasets',
  summary: 'List the datasets with their image, label, split and model counts',
  usage: [
    'Usage: bgad datasets [--data-dir DIR] [--json]',
    '',
    '  --data-dir DIR  data folder (default: BGAD_DATA_DIR or the per-user app data folder)',
    '  --json          print JSON',
    '',
    'Only reads: works on a full disk and in a read-only data folder.',
  ].join('\n'),
  options: { 'data-dir': { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    if (positionals.length) throw new UsageError('bgad datasets takes no arguments');
    const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined;
    const layout = dataLayout(resolveDataDir({ dataDir }));
    if (!existsSync(layout.dbFile)) {
      // Nothing imported yet: say so without creating the data folder.
      if (values.json === true) io.out('[]');
      else io.out(`No datasets in ${layout.root}. Create one with: bgad import FOLDER`);
      return 0;
    }
    const store = openStore({ dataDir, readonly: true });
    try {
      for (const w of store.warnings) io.err(`Note: ${w}`);
      const list = readingSchema(store, 'listing the datasets', () => listDatasets(store));
      if (values.json === true) {
        io.out(JSON.stringify(list, null, 2));
        return 0;
      }
      if (list.length === 0) {
        io.out(`No datasets in ${store.layout.root}. Create one with: bgad import FOLDER`);
        return 0;
      }
      const rows = [
        ['ID', 'NAME', 'IMAGES', 'GOOD', 'DEFECT', 'UNLABELLED', 'TRAIN', 'VAL', 'TEST', 'MASKED', 'MODELS', 'ACTIVE'],
        ...list.map((d) => [d.id, d.name, d.imageCount, d.counts.good, d.counts.defect, d.counts.unlabelled, d.counts.train, d.counts.val, d.counts.test, d.counts.masked, d.modelVersions, d.activeModelVersionId === null ? '-' : `#${d.activeModelVersionId}`].map(String)),
      ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) io.out(r.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
      return 0;
    } finally {
      store.close();
    }
  },
};

export default command;
