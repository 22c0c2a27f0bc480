/**
 * A full disk or a read-only data folder must not lock the user out of their data: the
 * read-only commands (`bgad db info`, `db check`, `datasets`, `db backup --out` another
 * disk) keep working without writing anything, and every command that has to write fails
 * with a named error (DISK_FULL, READ_ONLY) that names the path and says what to do.
 *
 * How the conditions are made without special hardware:
 * - read-only folder: as a normal user, chmod 0555 on the folders and 0444 on the files; as
 *   root (chmod does not stop root) a small tmpfs remounted read-only (EROFS).
 * - full disk: as root, a small tmpfs filled up to ENOSPC; skipped (with a message) where
 *   tmpfs cannot be mounted. SQLite's own SQLITE_FULL is also forced from inside with
 *   PRAGMA max_page_count, which runs everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, createReadStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src-main/db/store';
import { createDataset } from '../../src-main/db/datasets';
import { importFolder } from '../../src-main/services/import';
import { isAppError } from '../../src-main/common/errors';
import { LATEST_VERSION } from '../../src-main/db/migrations';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { bundleChild, kill9, startChild } from './child-process';
import { bundleCli, runCli, type CliResult } from './cli-child';
import { removeDir, tempDir, writeNoiseImages } from './helpers';

const IS_ROOT = process.getuid?.() === 0;

let root: string;
let src: string;
let src2: string;
/** An MVTec-style category with masks: importing it must write new files (mask PNGs), not only rows. */
let withMasks: string;
const mounts: string[] = [];
const chmodded: string[] = [];

function tryMountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    mounts.push(dir);
    return true;
  } catch {
    return false;
  }
}

let canMount = false;

beforeAll(async () => {
  root = tempDir('bgad-disk-');
  src = join(root, 'parts');
  src2 = join(root, 'more');
  await writeNoiseImages(src, 6, { seed0: 1 });
  await writeNoiseImages(src2, 40, { seed0: 500 });
  withMasks = (await generateSyntheticDataset({ outDir: join(root, 'synth'), seed: 3, sizePx: 48, categories: ['woven_grid'] })).categories[0]!.dir;
  await Promise.all([bundleCli(), bundleChild('import-child')]);
  canMount = IS_ROOT && tryMountTmpfs(join(root, 'probe-mount'), '1m');
  if (!canMount) {
    console.warn(
      IS_ROOT
        ? 'disk-safety: running as root but cannot mount a tmpfs here (no CAP_SYS_ADMIN?): the full-disk cases are skipped and the read-only cases cannot be made (chmod does not stop root).'
        : 'disk-safety: not root, so no tmpfs can be mounted: the full-disk cases are skipped; the read-only folder cases use chmod 0555/0444.',
    );
  }
}, 120_000);

afterAll(() => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'pipe' });
    } catch {
      // already gone
    }
  }
  for (const d of chmodded) chmodTree(d, 0o755, 0o644);
  removeDir(root);
});

function chmodTree(dir: string, dirMode: number, fileMode: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chmodTree(p, dirMode, fileMode);
    else chmodSync(p, fileMode);
  }
  chmodSync(dir, dirMode);
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * A data folder with a dataset of 6 imported images and an import SIGKILLed mid-way (its
 * run is left 'running' by a dead process). `clean`: the killed writer's WAL is merged and
 * the database closed, so there are no -wal/-shm files (the hardest case for a read-only
 * open); otherwise they stay as the kill left them.
 */
async function makeData(dataDir: string, clean: boolean): Promise<void> {
  const store = openStore({ dataDir });
  try {
    const ds = createDataset(store, { name: 'parts' });
    await importFolder(store, { src, datasetId: ds.id });
  } finally {
    store.close();
  }
  const child = await startChild('import-child', [dataDir, src2, '2']);
  await child.waitForLine(/^batch 1$/);
  await kill9(child);
  const file = join(dataDir, 'bgad.sqlite');
  if (clean) {
    const raw = new Database(file);
    raw.pragma('wal_checkpoint(TRUNCATE)');
    raw.close();
    expect(existsSync(file + '-wal')).toBe(false);
  } else {
    expect(statSync(file + '-wal').size).toBeGreaterThan(0);
  }
}

let n = 0;

/** A data folder made read-only (EROFS as root, EACCES otherwise); null when that cannot be done here. */
async function readOnlyFolder(clean: boolean): Promise<string | null> {
  const base = join(root, `ro-${n++}`);
  if (IS_ROOT) {
    if (!canMount || !tryMountTmpfs(base, '64m')) return null;
    const dataDir = join(base, 'data');
    await makeData(dataDir, clean);
    execFileSync('mount', ['-o', 'remount,ro', base], { stdio: 'pipe' });
    return dataDir;
  }
  const dataDir = join(base, 'data');
  await makeData(dataDir, clean);
  chmodTree(dataDir, 0o555, 0o444);
  chmodded.push(dataDir);
  return dataDir;
}

/** A data folder on a small tmpfs filled to the last byte; null when no tmpfs can be mounted. */
async function fullDiskFolder(clean: boolean): Promise<string | null> {
  if (!canMount) return null;
  const base = join(root, `full-${n++}`);
  if (!tryMountTmpfs(base, '16m')) return null;
  const dataDir = join(base, 'data');
  await makeData(dataDir, clean);
  const filler = join(base, 'filler');
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
    try {
      for (;;) appendFileSync(filler, chunk.subarray(0, size));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    }
  }
  expect(execFileSync('df', ['--output=avail', base]).toString().trim().split('\n').pop()!.trim()).toBe('0');
  return dataDir;
}

/** No stack trace, no "internal error", exit status as expected. */
function expectNamedFailure(r: CliResult, what: RegExp, path: string): void {
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(what);
  expect(r.stderr).toContain(path);
}

function expectOk(r: CliResult): void {
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
}

/**
 * A writable open where the WAL index already exists succeeds even though marking the
 * killed import 'interrupted' cannot be written: that failure is a warning, not an error.
 * (On a full disk the small update may still fit in space the -wal file already has: then
 * it is simply done.)
 */
function expectRecoveryFailureDoesNotStopOpen(dataDir: string, mustFail: boolean): void {
  const store = openStore({ dataDir });
  try {
    if (mustFail || store.recovered.importRuns.length === 0) {
      expect(store.recovered.importRuns).toEqual([]);
      expect(store.warnings.join('\n')).toMatch(/could not be marked interrupted/);
    }
    expect(store.db.prepare(`SELECT count(*) AS n FROM datasets`).get()).toEqual({ n: 2 });
  } finally {
    store.close();
  }
}

/** The read-only commands: each works and sees the data, including the killed import's batches. */
async function expectReadCommandsWork(dataDir: string, rescueOut: string, storage: 'read-only' | 'disk-full'): Promise<void> {
  const info = await runCli(['db', 'info', '--data-dir', dataDir]);
  expectOk(info);
  expect(info.stdout).toContain(`Data folder: ${dataDir}`);
  expect(info.stdout).toMatch(/Interrupted: 0 training run\(s\), 1 import\(s\)/); // the killed import, found without writing

  const infoJson = await runCli(['db', 'info', '--data-dir', dataDir, '--json']);
  expectOk(infoJson);
  const parsed = JSON.parse(infoJson.stdout) as { schemaVersion: number; storage: string; interrupted: { importRuns: { source: string }[] } };
  expect(parsed.schemaVersion).toBe(LATEST_VERSION);
  expect(parsed.storage).toBe(storage);
  expect(parsed.interrupted.importRuns.map((r) => r.source)).toEqual([src2]);

  const ds = await runCli(['datasets', '--data-dir', dataDir, '--json']);
  expectOk(ds);
  const list = JSON.parse(ds.stdout) as { name: string; imageCount: number }[];
  expect(list.find((d) => d.name === 'parts')?.imageCount).toBe(6);
  const crashed = list.find((d) => d.name === 'crash')!.imageCount;
  expect(crashed).toBeGreaterThanOrEqual(4); // batches 0 and 1 of 2 images committed before the kill

  const check = await runCli(['db', 'check', '--data-dir', dataDir]);
  expectOk(check);
  expect(check.stdout).toMatch(/integrity:\s+ok/);

  const backup = await runCli(['db', 'backup', '--data-dir', dataDir, '--out', rescueOut]);
  expectOk(backup);
  const copy = new Database(rescueOut, { readonly: true });
  try {
    expect(copy.prepare(`SELECT count(*) AS n FROM images`).get()).toEqual({ n: 6 + crashed });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    copy.close();
  }
}

describe('a read-only data folder', () => {
  for (const clean of [true, false]) {
    it(`still answers db info, db check, datasets and db backup --out another disk (${clean ? 'closed cleanly' : 'WAL left by a killed writer'}), and writes fail with READ_ONLY`, async (ctx) => {
      const dataDir = await readOnlyFolder(clean);
      if (!dataDir) {
        ctx.skip();
        return;
      }
      const dbFile = join(dataDir, 'bgad.sqlite');
      const before = await sha256File(dbFile);
      await expectReadCommandsWork(dataDir, join(root, 'rescue', `ro-${clean}.sqlite`), 'read-only');
      expect(await sha256File(dbFile)).toBe(before);

      const imp = await runCli(['import', withMasks, '--data-dir', dataDir, '--dataset', 'tiles']);
      expectNamedFailure(imp, /read-only/i, dataDir);
      expect(imp.stderr).toMatch(/→/); // the hint: what to do
      const bk = await runCli(['db', 'backup', '--data-dir', dataDir]); // default: backups/ inside the read-only folder
      expectNamedFailure(bk, /read-only/i, dataDir);
      const mig = await runCli(['db', 'migrate', '--data-dir', dataDir]); // nothing to migrate: no write needed
      expectOk(mig);
      expect(mig.stdout).toMatch(new RegExp(`schema ${LATEST_VERSION}`));
      if (!clean) expectRecoveryFailureDoesNotStopOpen(dataDir, true);
    }, 120_000);
  }
});

describe('a full disk', () => {
  for (const clean of [true, false]) {
    it(`still answers db info, db check, datasets and db backup --out another disk (${clean ? 'closed cleanly' : 'WAL left by a killed writer'}), and writes fail with DISK_FULL`, async (ctx) => {
      const dataDir = await fullDiskFolder(clean);
      if (!dataDir) {
        ctx.skip();
        return;
      }
      const dbFile = join(dataDir, 'bgad.sqlite');
      const before = await sha256File(dbFile);
      await expectReadCommandsWork(dataDir, join(root, 'rescue', `full-${clean}.sqlite`), 'disk-full');
      expect(await sha256File(dbFile)).toBe(before);

      // Rows alone may still fit in space the -wal file already has; mask files cannot. With a
      // WAL left by a killed writer the import has once (under a loaded CI machine) found room
      // anyway: then it must have completed consistently; otherwise it fails with a named error.
      const imp = await runCli(['import', withMasks, '--data-dir', dataDir, '--dataset', 'tiles']);
      if (!clean && imp.code === 0) {
        expectOk(imp);
        const check = await runCli(['db', 'check', '--data-dir', dataDir]);
        expectOk(check);
      } else {
        expectNamedFailure(imp, /disk .*is full/i, dataDir);
        expect(imp.stderr).toMatch(/Free some disk space/);
      }
      const bk = await runCli(['db', 'backup', '--data-dir', dataDir]); // default: backups/ on the full disk
      expectNamedFailure(bk, /disk .*is full/i, dataDir);
      expect(bk.stderr).toMatch(/--out/);
      const mig = await runCli(['db', 'migrate', '--data-dir', dataDir]); // nothing to migrate: no write needed
      expectOk(mig);
      if (!clean) expectRecoveryFailureDoesNotStopOpen(dataDir, false);
    }, 120_000);
  }
});

describe('a write whose commit fails on a full disk', () => {
  it('throws DISK_FULL instead of returning an INSERT ... RETURNING row that was never saved', async (ctx) => {
    const dataDir = await fullDiskFolder(false); // the WAL index exists, so a writable open works
    if (!dataDir) {
      ctx.skip();
      return;
    }
    const store = openStore({ dataDir });
    try {
      let err: unknown;
      const returned: number[] = [];
      try {
        // Autocommit: SQLite writes the WAL at commit, after the RETURNING row was handed out.
        for (let i = 0; i < 2000; i++) returned.push(createDataset(store, { name: `d${i}-${'x'.repeat(100)}` }).id);
      } catch (e) {
        err = e;
      }
      expect(isAppError(err) && err.code).toBe('DISK_FULL');
      expect((err as Error).message).toContain(store.layout.dbFile);
      for (const id of returned) expect(store.db.prepare(`SELECT count(*) AS n FROM datasets WHERE id = ?`).get(id)).toEqual({ n: 1 });
    } finally {
      store.close();
    }
  }, 60_000);
});

describe('SQLITE_FULL inside a write', () => {
  it('becomes a DISK_FULL error naming the database, and the store stays usable for reading', async () => {
    const dir = tempDir();
    try {
      const store = openStore({ dataDir: dir });
      try {
        const ds = createDataset(store, { name: 'full' });
        const pages = store.db.pragma('page_count', { simple: true }) as number;
        store.db.pragma(`max_page_count = ${pages}`); // the file cannot grow any more
        let err: unknown;
        try {
          for (let i = 0; i < 5000; i++) createDataset(store, { name: `filler-${i}-${'x'.repeat(100)}` });
        } catch (e) {
          err = e;
        }
        expect(isAppError(err) && err.code).toBe('DISK_FULL');
        expect((err as Error).message).toContain(store.layout.dbFile);
        expect(isAppError(err) && err.hint).toMatch(/Free some disk space/);

        let importErr: unknown;
        try {
          await importFolder(store, { src: src2, datasetId: ds.id, batchSize: 40 });
        } catch (e) {
          importErr = e;
        }
        expect(isAppError(importErr) && importErr.code).toBe('DISK_FULL');
        expect(store.db.prepare(`SELECT count(*) AS n FROM datasets WHERE name = 'full'`).get()).toEqual({ n: 1 });
      } finally {
        store.close();
      }
    } finally {
      removeDir(dir);
    }
  });
});

describe('a database at an older schema', () => {
  it('is read by the read-only commands, which say that "bgad db migrate" brings it up to date, and is left unchanged', async () => {
    const dataDir = join(root, 'old-20');
    const old = openStore({ dataDir, targetVersion: 20 });
    createDataset(old, { name: 'legacy' });
    old.close();

    const info = await runCli(['db', 'info', '--data-dir', dataDir]);
    expectOk(info);
    expect(info.stdout).toMatch(new RegExp(`schema 20 of ${LATEST_VERSION}`));
    expect(info.stdout + info.stderr).toMatch(/bgad db migrate/);

    const ds = await runCli(['datasets', '--data-dir', dataDir]);
    expectOk(ds);
    expect(ds.stdout).toMatch(/legacy/);
    expect(ds.stderr).toMatch(/bgad db migrate/);

    const check = await runCli(['db', 'check', '--data-dir', dataDir]);
    expectOk(check);

    const raw = new Database(join(dataDir, 'bgad.sqlite'), { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(20);
    raw.close();

    const mig = await runCli(['db', 'migrate', '--data-dir', dataDir]);
    expectOk(mig);
    expect(mig.stdout).toMatch(new RegExp(`schema ${LATEST_VERSION}`));
  }, 60_000);

  it('that lacks what a command needs gives a clear DB_TOO_OLD message instead of an SQL error', async () => {
    const dataDir = join(root, 'old-10');
    const old = openStore({ dataDir, targetVersion: 10 });
    createDataset(old, { name: 'ancient' });
    old.close();
    const ds = await runCli(['datasets', '--data-dir', dataDir]);
    expectNamedFailure(ds, /schema 10/, join(dataDir, 'bgad.sqlite'));
    expect(ds.stderr).toMatch(/bgad db migrate/);
  }, 60_000);
});

describe('a data folder without a database', () => {
  it('is not created by the read-only commands', async () => {
    const dataDir = join(root, 'nothing-here');
    const ds = await runCli(['datasets', '--data-dir', dataDir]);
    expectOk(ds);
    expect(ds.stdout).toMatch(/No datasets/);
    const info = await runCli(['db', 'info', '--data-dir', dataDir]);
    expectOk(info);
    expect(info.stdout).toMatch(/no database yet/i);
    const check = await runCli(['db', 'check', '--data-dir', dataDir]);
    expectNamedFailure(check, /no database/i, dataDir);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
