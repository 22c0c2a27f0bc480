/**
 * Several processes opening the same new data folder at once (the app and `bgad serve`, or
 * two line scripts, started together) must all get a whole, current schema: the version is
 * read and the migrations applied under one write lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LATEST_VERSION } from '../../src-main/db/migrations';
import { bundleChild, startChild } from './child-process';
import { removeDir, tempDir } from './helpers';

const CHILDREN = 8;
const ROUNDS = 4;

let root: string;
beforeAll(async () => {
  root = tempDir('bgad-concurrent-');
  await bundleChild('open-child');
});
afterAll(() => removeDir(root));

describe('processes opening a new data folder at the same time', () => {
  it(`all succeed and leave one whole schema (${CHILDREN} processes, ${ROUNDS} rounds)`, async () => {
    const failures: string[] = [];
    let tableCount: number | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const dataDir = join(root, `data-${round}`);
      const startAt = Date.now() + 1500; // every child is started and spinning by then
      const children = await Promise.all(Array.from({ length: CHILDREN }, () => startChild('open-child', [dataDir, String(startAt)])));
      const results = await Promise.all(children.map(async (c) => ({ exit: await c.exited, lines: c.lines(), stderr: c.stderr() })));
      for (const r of results) {
        const line = r.lines.find((l) => /^(opened|failed) /.test(l)) ?? `no output (exit ${r.exit.code ?? r.exit.signal}): ${r.stderr.slice(0, 300)}`;
        if (!line.startsWith(`opened ${LATEST_VERSION} `)) failures.push(`round ${round}: ${line}`);
        else {
          const n = Number(line.split(' ')[2]);
          tableCount ??= n;
          if (n !== tableCount) failures.push(`round ${round}: saw ${n} tables, another child saw ${tableCount}`);
        }
      }
      const db = new Database(join(dataDir, 'bgad.sqlite'), { readonly: true });
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect((db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'`).get() as { n: number }).n).toBe(tableCount);
      } finally {
        db.close();
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
