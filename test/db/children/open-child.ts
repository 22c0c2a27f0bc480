/**
 * Child process for the concurrent-open test: waits until an agreed instant (so that all
 * children open at once), opens the store on a data folder and reports the schema it sees.
 */
import { openStore } from '../../../src-main/db/store';
import { schemaVersion } from '../../../src-main/db/database';

const [dataDir, startAtMs] = process.argv.slice(2);
while (Date.now() < Number(startAtMs)) {
  // spin: a timer would add its own jitter
}
try {
  const store = openStore({ dataDir: dataDir! });
  const tables = (store.db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'`).get() as { n: number }).n;
  process.stdout.write(`opened ${schemaVersion(store.db)} ${tables}\n`);
  store.close();
} catch (e) {
  process.stdout.write(`failed ${(e as Error).message.replace(/\n/g, ' ')}\n`);
  process.exitCode = 1;
}
