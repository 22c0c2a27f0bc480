/**
 * The review band in the database (issue 20): migration 0051_review_band on a database with
 * results, the band of a model version (set, cleared, audited, written to its bundle, holding
 * the threshold), the band a run starts with, and the review count of a run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { migrate, openDatabase, schemaVersion, type Db } from '../../src-main/db/database';
import { createDataset } from '../../src-main/db/datasets';
import { createModelVersion, getModelVersion, setModelReviewBand, setModelThreshold, writeBundle } from '../../src-main/db/model-versions';
import { addInspectionResults, createInspectionRun, getInspectionRun, listInspectionResults } from '../../src-main/db/inspections';
import { listAudit } from '../../src-main/db/audit';
import type { Store } from '../../src-main/db/store';
import type { ReviewBand } from '../../src-main/common/records';
import { removeDir, tempDir, tempStore } from './helpers';

const SHA = (c: string) => c.repeat(64);
let dir: string | undefined;
let db: Db | undefined;
let store: (Store & { dir: string }) | undefined;
afterEach(() => {
  db?.close();
  db = undefined;
  removeDir(dir);
  dir = undefined;
  if (store) {
    store.close();
    removeDir(store.dir);
    store = undefined;
  }
});

describe('migration 0051_review_band', () => {
  it('keeps every stored result and its indexes, and lets results carry the verdict review', () => {
    dir = tempDir();
    db = openDatabase(join(dir, 'bgad.sqlite'), { targetVersion: 50 });
    const d = db;
    d.prepare(`INSERT INTO datasets (id, name, created_at_ms, updated_at_ms) VALUES (1, 'tiles', 1, 1)`).run();
    d.prepare(`INSERT INTO model_versions (id, dataset_id, number, backbone_id, backbone_hash, threshold, created_at_ms, updated_at_ms) VALUES (1, 1, 1, 'mnv2', 'h', 0.5, 1, 1)`).run();
    d.prepare(`INSERT INTO inspection_runs (id, dataset_id, model_version_id, source, threshold, status, created_at_ms) VALUES (1, 1, 1, '/in', 0.5, 'completed', 1)`).run();
    const add = d.prepare(`INSERT INTO inspection_results (id, run_id, path, sha256, score, verdict, error, created_at_ms) VALUES (?, 1, ?, ?, ?, ?, ?, ?)`);
    add.run(7, '/in/a.png', SHA('a'), 0.2, 'pass', null, 10);
    add.run(8, '/in/b.png', SHA('b'), 0.9, 'fail', null, 11);
    add.run(9, '/in/c.png', SHA('c'), null, 'error', 'unreadable', 12);
    expect(() => add.run(10, '/in/d.png', SHA('d'), 0.5, 'review', null, 13)).toThrow(/CHECK/);

    migrate(d, 51);
    expect(schemaVersion(d)).toBe(51);
    expect(d.prepare(`SELECT id, path, score, verdict, error, created_at_ms FROM inspection_results ORDER BY id`).all()).toEqual([
      { id: 7, path: '/in/a.png', score: 0.2, verdict: 'pass', error: null, created_at_ms: 10 },
      { id: 8, path: '/in/b.png', score: 0.9, verdict: 'fail', error: null, created_at_ms: 11 },
      { id: 9, path: '/in/c.png', score: null, verdict: 'error', error: 'unreadable', created_at_ms: 12 },
    ]);
    const indexes = (d.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'inspection_results' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual(['inspection_results_time', 'inspection_results_verdict']);
    add.run(10, '/in/d.png', SHA('d'), 0.5, 'review', null, 13);
    expect(() => add.run(11, '/in/e.png', SHA('e'), 0.5, 'maybe', null, 13)).toThrow(/CHECK/);
    expect(() => add.run(11, '/in/e.png', SHA('e'), null, 'review', null, 13)).toThrow(/CHECK/); // a review needs a score
    expect(() => add.run(11, '/in/d2.png', SHA('d'), 0.5, 'review', null, 13)).toThrow(/UNIQUE/);
    expect(d.pragma('foreign_key_check')).toEqual([]);
    // deleting the run still deletes its results (the foreign key survived the rebuild)
    d.prepare(`DELETE FROM inspection_runs WHERE id = 1`).run();
    expect(d.prepare(`SELECT count(*) AS n FROM inspection_results`).get()).toEqual({ n: 0 });

    // both ends of a band or neither, and low below high
    expect(d.prepare(`SELECT review_low, review_high FROM model_versions WHERE id = 1`).get()).toEqual({ review_low: null, review_high: null });
    expect(() => d.prepare(`UPDATE model_versions SET review_low = 0.4 WHERE id = 1`).run()).toThrow(/CHECK/);
    expect(() => d.prepare(`UPDATE model_versions SET review_low = 0.6, review_high = 0.4 WHERE id = 1`).run()).toThrow(/CHECK/);
    d.prepare(`UPDATE model_versions SET review_low = 0.4, review_high = 0.6 WHERE id = 1`).run();
    d.prepare(`UPDATE model_versions SET review_low = NULL, review_high = NULL WHERE id = 1`).run();
    const audit = d.prepare(`SELECT action, old_json, new_json FROM audit_log WHERE entity = 'model_version' ORDER BY id`).all() as { action: string; old_json: string; new_json: string }[];
    expect(audit.map((a) => [a.action, JSON.parse(a.old_json), JSON.parse(a.new_json)])).toEqual([
      ['review_band', { reviewBand: null }, { reviewBand: { low: 0.4, high: 0.6 } }],
      ['review_band', { reviewBand: { low: 0.4, high: 0.6 } }, { reviewBand: null }],
    ]);
  });
});

describe('the review band of a model version', () => {
  function setup() {
    store = tempStore();
    const datasetId = createDataset(store, { name: 'D' }).id;
    const bundleFile = writeBundle(store, { datasetId, fileName: 'v1.bgad', bytes: new Uint8Array([1]) });
    const mv = createModelVersion(store, { datasetId, backboneId: 'mobilenetv2', backboneHash: 'h', threshold: 0.5, bundleFile });
    const written: { file: string; band: ReviewBand | null; version: number }[] = [];
    const writer = (file: string, band: ReviewBand | null, version: number) => { written.push({ file, band, version }); };
    return { s: store, datasetId, mv, written, writer };
  }

  it('is set and cleared with its bundle rewritten in the same step, and audited', () => {
    const { s, datasetId, mv, written, writer } = setup();
    expect(mv.reviewBand).toBeNull();
    expect(setModelReviewBand(s, { id: mv.id, band: { low: 0.45, high: 0.7 } }, writer).reviewBand).toEqual({ low: 0.45, high: 0.7 });
    expect(getModelVersion(s, mv.id).reviewBand).toEqual({ low: 0.45, high: 0.7 });
    expect(setModelReviewBand(s, { id: mv.id, band: null }, writer).reviewBand).toBeNull();
    expect(written.map((w) => [w.file.endsWith('v1.bgad'), w.band, w.version])).toEqual([[true, { low: 0.45, high: 0.7 }, 1], [true, null, 1]]);
    const audit = listAudit(s, { datasetId, entity: 'model_version' }).reverse();
    expect(audit.map((a) => [a.action, a.old, a.new])).toEqual([
      ['review_band', { reviewBand: null }, { reviewBand: { low: 0.45, high: 0.7 } }],
      ['review_band', { reviewBand: { low: 0.45, high: 0.7 } }, { reviewBand: null }],
    ]);
  });

  it('must hold the threshold; a refused band changes neither the row nor the bundle', () => {
    const { s, mv, written, writer } = setup();
    expect(() => setModelReviewBand(s, { id: mv.id, band: { low: 0.6, high: 0.9 } }, writer)).toThrow(/does not hold the threshold 0.5/);
    expect(() => setModelReviewBand(s, { id: mv.id, band: { low: 0.7, high: 0.3 } }, writer)).toThrow(/low \(0.7\) must be below high \(0.3\)/);
    expect(() => setModelReviewBand(s, { id: mv.id, band: { low: Number.NaN, high: 1 } }, writer)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    const failing = () => { throw new Error('disk gone'); };
    expect(() => setModelReviewBand(s, { id: mv.id, band: { low: 0.4, high: 0.6 } }, failing)).toThrow(/disk gone/);
    expect(getModelVersion(s, mv.id).reviewBand).toBeNull();
    expect(written).toEqual([]);
  });

  it('keeps the threshold inside it: a threshold outside the band is refused until the band is cleared', () => {
    const { s, mv, writer } = setup();
    setModelReviewBand(s, { id: mv.id, band: { low: 0.4, high: 0.6 } }, writer);
    const noBundle = () => undefined;
    expect(setModelThreshold(s, { id: mv.id, threshold: 0.55 }, noBundle).threshold).toBe(0.55);
    expect(() => setModelThreshold(s, { id: mv.id, threshold: 0.8 }, noBundle)).toThrow(expect.objectContaining({ code: 'CONFLICT', message: expect.stringMatching(/outside the review band/) }));
    expect(getModelVersion(s, mv.id).threshold).toBe(0.55);
    setModelReviewBand(s, { id: mv.id, band: null }, writer);
    expect(setModelThreshold(s, { id: mv.id, threshold: 0.8 }, noBundle).threshold).toBe(0.8);
  });

  it('is the band a run starts with (where it holds the run\'s threshold), and a run counts its reviews', () => {
    const { s, mv, writer } = setup();
    setModelReviewBand(s, { id: mv.id, band: { low: 0.4, high: 0.6 } }, writer);
    const run = createInspectionRun(s, { source: '/in', modelVersionId: mv.id });
    expect(run.reviewBand).toEqual({ low: 0.4, high: 0.6 });
    expect(createInspectionRun(s, { source: '/in', modelVersionId: mv.id, threshold: 0.9 }).reviewBand).toBeNull(); // an override outside the band
    expect(createInspectionRun(s, { source: '/in', modelVersionId: mv.id, reviewBand: null }).reviewBand).toBeNull();
    expect(() => createInspectionRun(s, { source: '/in', modelVersionId: mv.id, reviewBand: { low: 0.6, high: 0.7 } })).toThrow(/does not hold the threshold/);
    addInspectionResults(s, {
      runId: run.id,
      results: [
        { path: '/in/a.png', sha256: SHA('a'), score: 0.1, verdict: 'pass' },
        { path: '/in/b.png', sha256: SHA('b'), score: 0.5, verdict: 'review' },
        { path: '/in/c.png', sha256: SHA('c'), score: 0.55, verdict: 'review' },
        { path: '/in/d.png', sha256: SHA('d'), score: 0.9, verdict: 'fail' },
      ],
    });
    expect(getInspectionRun(s, run.id).summary).toMatchObject({ total: 4, pass: 1, fail: 1, error: 0, review: 2 });
    expect(listInspectionResults(s, { runId: run.id, verdict: 'review' }).items.map((r) => r.path)).toEqual(['/in/b.png', '/in/c.png']);
    expect(() => addInspectionResults(s, { runId: run.id, results: [{ path: '/in/e.png', sha256: SHA('e'), verdict: 'review' }] })).toThrow(/needs a score/);
  });
});
