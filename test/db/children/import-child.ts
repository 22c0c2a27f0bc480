/** Child process for the crash test: imports a folder and reports each committed batch. */
import { ensureDataset } from '../../../src-main/db/datasets';
import { importFolder } from '../../../src-main/services/import';
import { openStore } from '../../../src-main/db/store';

const [dataDir, src, batchSize] = process.argv.slice(2);
const store = openStore({ dataDir });
const { dataset } = ensureDataset(store, 'crash');
await importFolder(store, {
  src: src!,
  datasetId: dataset.id,
  batchSize: Number(batchSize),
  concurrency: 2,
  onBatchCommitted: (b) => process.stdout.write(`batch ${b}\n`),
});
process.stdout.write('done\n');
store.close();
