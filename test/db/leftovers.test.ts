/**
 * What killed runs leave behind must not linger:
 * - an import that was interrupted and then run again to completion is no longer offered
 *   for resuming (`bgad db info`), while other interrupted imports still are;
 * - empty `.tmp` files of atomic writes that never reached their rename are removed by the
 *   next writable open once their process is gone and they are a few minutes old;
 * - mask files no row references are reported by `bgad db check` and removed by
 *   `bgad db check --remove-orphans`; never a file a row references, never anything
 *   outside the data folder (symlinks are not followed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSyntheticDataset, type SynthCategoryInfo } from '../../src-main/synth/generate';
import { openStore } from '../../src-main/db/store';
import { createDataset } from '../../src-main/db/datasets';
import { listImportRuns } from '../../src-main/db/import-runs';
import { importFolder } from '../../src-main/services/import';
import { fromDataRef, toDataRef } from '../../src-main/db/files';
import { removeOrphanFiles } from '../../src-main/db/maintenance';
import { bundleChild, kill9, startChild } from './child-process';
import { bundleCli, runCli } from './cli-child';
import { removeDir, tempDir, writeNoiseImages } from './helpers';

let root: string;
let cat: SynthCategoryInfo;
let srcA: string;
let srcB: string;

beforeAll(async () => {
  root = tempDir('bgad-leftovers-');
  srcA = join(root, 'line-a');
  srcB = join(root, 'line-b');
  await writeNoiseImages(srcA, 30, { seed0: 1000 });
  await writeNoiseImages(srcB, 30, { seed0: 2000 });
  cat = (await generateSyntheticDataset({ outDir: join(root, 'synth'), seed: 5, sizePx: 48, categories: ['woven_grid'] })).categories[0]!;
  await Promise.all([bundleCli(), bundleChild('import-child'), bundleChild('leftovers-child')]);
}, 120_000);
afterAll(() => removeDir(root));

interface Info {
  interrupted: { importRuns: { id: number; source: string; datasetId: number }[] };
}

async function info(dataDir: string): Promise<Info> {
  const r = await runCli(['db', 'info', '--data-dir', dataDir, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Info;
}

async function killImport(dataDir: string, src: string): Promise<void> {
  const child = await startChild('import-child', [dataDir, src, '2']);
  await child.waitForLine(/^batch 1$/);
  await kill9(child);
}

describe('an import interrupted and then run again to completion', () => {
  it('is no longer listed as interrupted, while other interrupted imports still are; its history is kept', async () => {
    const dataDir = join(root, 'reimport');
    await killImport(dataDir, srcA); // into dataset "crash"
    await killImport(dataDir, srcB);
    expect((await info(dataDir)).interrupted.importRuns.map((r) => r.source).sort()).toEqual([srcA, srcB]);

    // The same folder into another dataset does not finish the "crash" import.
    const other = await runCli(['import', srcA, '--dataset', 'other', '--data-dir', dataDir]);
    expect(other.code, other.stderr).toBe(0);
    expect((await info(dataDir)).interrupted.importRuns.map((r) => r.source).sort()).toEqual([srcA, srcB]);

    // The same folder into the same dataset does.
    const again = await runCli(['import', srcA, '--dataset', 'crash', '--data-dir', dataDir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout) as { importRunId: number; status: string; imported: number; duplicates: unknown[] };
    expect(summary.status).toBe('completed');
    expect(summary.imported + summary.duplicates.length).toBe(30);
    expect((await info(dataDir)).interrupted.importRuns.map((r) => r.source)).toEqual([srcB]);
    const text = await runCli(['db', 'info', '--data-dir', dataDir]);
    expect(text.stdout).toMatch(/Interrupted: 0 training run\(s\), 1 import\(s\)/);
    expect(text.stdout).not.toContain(`bgad import ${srcA}`);

    // The history still shows the interrupted run, and says which import finished it.
    const store = openStore({ dataDir, readonly: true });
    try {
      const runs = listImportRuns(store).filter((r) => r.source === srcA);
      const killed = runs.find((r) => r.status === 'interrupted')!;
      expect(killed).toBeDefined();
      expect(killed.error).toMatch(new RegExp(`finished by import #${summary.importRunId}`, 'i'));
    } finally {
      store.close();
    }
  }, 120_000);
});

describe('files left by a killed process', () => {
  it('temp files go at the next writable open; orphan masks are reported by db check and removed by --remove-orphans; nothing referenced or outside is touched', async () => {
    const dataDir = join(root, 'files');
    const setup = openStore({ dataDir });
    let referenced: string[];
    try {
      await importFolder(setup, { src: cat.dir, datasetId: createDataset(setup, { name: 'tiles' }).id });
      referenced = (setup.db.prepare(`SELECT file FROM masks`).all() as { file: string }[]).map((r) => r.file);
    } finally {
      setup.close();
    }
    expect(referenced.length).toBeGreaterThan(0);
    const maskSrc = fromDataRef(dataDir, referenced[0]!);

    const child = await startChild('leftovers-child', [dataDir, maskSrc]);
    const left = JSON.parse(await child.waitForLine(/^\{/)) as { orphan: string; temps: string[]; datasetId: number };
    const deadPid = child.proc.pid!;
    await kill9(child);

    const hourAgo = Date.now() / 1000 - 3600;
    const age = (p: string) => utimesSync(p, hourAgo, hourAgo);
    for (const t of left.temps) age(t);
    age(fromDataRef(dataDir, left.orphan));
    for (const r of referenced) age(fromDataRef(dataDir, r)); // old, but referenced: never removed
    // A temp file of the same dead process, written a moment ago: too young to remove.
    const young = join(dataDir, 'masks', String(left.datasetId), `.young.png.${deadPid}.deadbeef.tmp`);
    writeFileSync(young, '');
    // An old temp file of a process that is still running (this one): in use, kept.
    const live = join(dataDir, 'bundles', `.live.bgad.${process.pid}.cafebabe.tmp`);
    writeFileSync(live, '');
    age(live);
    // Outside the data folder, reachable only through symlinks inside it: never touched.
    const outside = join(root, 'outside');
    mkdirSync(outside, { recursive: true });
    const outsideTmp = join(outside, `.x.png.${deadPid}.00000000.tmp`);
    const outsidePng = join(outside, 'keep.png');
    writeFileSync(outsideTmp, '');
    writeFileSync(outsidePng, 'not a mask');
    age(outsideTmp);
    age(outsidePng);
    const linkFile = join(dataDir, 'masks', String(left.datasetId), 'link.png');
    const linkDir = join(dataDir, 'heatmaps', 'linked');
    symlinkSync(outsidePng, linkFile);
    symlinkSync(outside, linkDir);

    // db check only reads: it reports, and removes nothing.
    const check = await runCli(['db', 'check', '--data-dir', dataDir, '--json']);
    expect(check.code, check.stderr).toBe(0);
    const report = JSON.parse(check.stdout) as { ok: boolean; orphanFiles: string[]; tempFiles: string[] };
    expect(report.orphanFiles).toEqual([left.orphan]);
    expect([...report.tempFiles].sort()).toEqual([...left.temps, young].map((p) => toDataRef(dataDir, p)).sort());
    for (const p of [...left.temps, young, live]) expect(existsSync(p)).toBe(true);

    // The next writable open removes the old temp files of dead processes, and only those.
    openStore({ dataDir }).close();
    for (const t of left.temps) expect(existsSync(t), t).toBe(false);
    for (const p of [young, live, outsideTmp, outsidePng, linkFile, linkDir, fromDataRef(dataDir, left.orphan)]) expect(existsSync(p), p).toBe(true);

    // --remove-orphans removes the orphan mask, nothing else.
    const fix = await runCli(['db', 'check', '--remove-orphans', '--data-dir', dataDir]);
    expect(fix.code, fix.stderr).toBe(0);
    expect(fix.stdout).toMatch(/1 removed/);
    expect(existsSync(fromDataRef(dataDir, left.orphan))).toBe(false);
    for (const r of referenced) expect(existsSync(fromDataRef(dataDir, r)), r).toBe(true);
    for (const p of [young, live, outsideTmp, outsidePng, linkFile, linkDir]) expect(existsSync(p), p).toBe(true);
    expect(readdirSync(outside).sort()).toEqual([outsideTmp, outsidePng].map((p) => p.slice(outside.length + 1)).sort());
    const after = JSON.parse((await runCli(['db', 'check', '--data-dir', dataDir, '--json'])).stdout) as { ok: boolean; orphanFiles: string[] };
    expect(after.ok).toBe(true);
    expect(after.orphanFiles).toEqual([]);
  }, 120_000);

  it('never removes a file a row references, even when asked to by a stale list', () => {
    const dataDir = join(root, 'files'); // from the test above: masks referenced by rows
    const store = openStore({ dataDir });
    try {
      const ref = (store.db.prepare(`SELECT file FROM masks LIMIT 1`).get() as { file: string }).file;
      const abs = fromDataRef(dataDir, ref);
      utimesSync(abs, 0, 0);
      expect(removeOrphanFiles(store.layout, [ref], 0, store.db)).toBe(0);
      expect(existsSync(abs)).toBe(true);
    } finally {
      store.close();
    }
  });
});
