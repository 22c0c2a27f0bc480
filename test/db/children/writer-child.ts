/** Child process: holds a write transaction open for a while (the WAL reader test). */
import { openDatabase } from '../../../src-main/db/database';

const [file, holdMs] = process.argv.slice(2);
const db = openDatabase(file!);
db.exec('BEGIN IMMEDIATE');
const ins = db.prepare(`INSERT INTO datasets (name, created_at_ms, updated_at_ms) VALUES (?, 0, 0)`);
for (let i = 0; i < 5000; i++) ins.run(`writer-${i}`);
process.stdout.write('locked\n');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(holdMs)); // a long write, lock held
db.exec('COMMIT');
process.stdout.write('committed\n');
db.close();
