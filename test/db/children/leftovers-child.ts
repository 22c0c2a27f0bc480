/**
 * Child process for the leftovers test: does what a process killed in the middle of its
 * writes leaves behind, then waits to be SIGKILLed.
 * - a mask file copied into place by an import whose batch never committed (a complete
 *   file that no row references), via the importer's own placeMaskFileCopy;
 * - empty temp files of atomic writes that never reached their rename, named as the
 *   writers name them (fs/atomic-file.ts tempPathFor; and `<file>.<pid>.<hex>.tmp`, as releases
 *   before the one atomic writer named them).
 * Prints one JSON line: the orphan's data-folder reference and the temp files' paths.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempPathFor } from '../../../src-main/fs/atomic-file';
import { ensureDataset } from '../../../src-main/db/datasets';
import { ensureDefectType } from '../../../src-main/db/defect-types';
import { placeMaskFileCopy } from '../../../src-main/db/masks';
import { openStore } from '../../../src-main/db/store';

const [dataDir, maskSrc] = process.argv.slice(2);
const store = openStore({ dataDir: dataDir! });
const { dataset } = ensureDataset(store, 'leftovers');
const type = ensureDefectType(store, { datasetId: dataset.id, name: 'crack' });
const orphan = placeMaskFileCopy(store, maskSrc!, dataset.id, 'f'.repeat(64), type.id);
const temps = [
  tempPathFor(join(store.layout.masksDir, String(dataset.id), 'painted.png')),
  tempPathFor(join(store.layout.bundlesDir, String(dataset.id), 'run-1.bgad')),
  join(store.layout.heatmapsDir, '7', `0001.png.${process.pid}.0123abcd.tmp`),
  tempPathFor(join(store.layout.backupsDir, 'bgad-now.sqlite')),
];
for (const t of temps) {
  mkdirSync(dirname(t), { recursive: true });
  closeSync(openSync(t, 'w'));
}
process.stdout.write(`${JSON.stringify({ orphan, temps, datasetId: dataset.id })}\n`);
setInterval(() => undefined, 1000); // killed here
