import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createDataset, deleteDataset } from '../../src-main/db/datasets';
import {
  appendTrainingProgress, cancelTrainingRun, completeTrainingRun, createTrainingRun, discardTrainingRun, failTrainingRun, getLossCurves, getTrainingRun,
  markTrainingRunning, resumeTrainingRun,
} from '../../src-main/db/training-runs';
import {
  activateModelVersion, compareModelVersions, createModelVersion, getActiveModelVersion, listModelVersions, setModelThreshold, updateModelVersion, writeBundle,
} from '../../src-main/db/model-versions';
import {
  addInspectionResult, addInspectionResults, createInspectionRun, finishInspectionRun, getInspectionRun, listInspectionResults, listInspectionRuns,
} from '../../src-main/db/inspections';
import { recoverInterrupted } from '../../src-main/db/interrupted';
import { listAudit } from '../../src-main/db/audit';
import { openStore, type Store } from '../../src-main/db/store';
import { rewriteBundleThreshold } from '../../src-main/model/bundle-file';
import { fromDataRef } from '../../src-main/db/files';
import { removeDir, tempStore } from './helpers';

let store: Store & { dir: string };
let datasetId: number;
beforeEach(() => {
  store = tempStore();
  datasetId = createDataset(store, { name: 'D' }).id;
});
afterEach(() => {
  store.close();
  removeDir(store.dir);
});

const model = (extra: object = {}) => ({ backboneId: 'mobilenetv2', backboneHash: 'abc', config: { flow: { blocks: 8 }, lr: 1e-3 }, threshold: 0.5, metrics: { imageAuroc: 0.9 }, evalSplit: { test: [1, 2, 3] }, ...extra });

describe('training runs', () => {
  it('go queued, running, and completed together with their model version and loss curves', () => {
    const run = createTrainingRun(store, { datasetId, config: { epochs: 3 } });
    expect(run).toMatchObject({ status: 'queued', progress: 0, config: { epochs: 3 } });
    expect(markTrainingRunning(store, { runId: run.id })).toMatchObject({ status: 'running', pid: process.pid });
    expect(() => markTrainingRunning(store, { runId: run.id })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    for (let step = 1; step <= 3; step++) appendTrainingProgress(store, { runId: run.id, step, progress: step / 4, losses: { loss: 1 / step, 'loss.level0': 2 / step }, message: `step ${step}` });
    appendTrainingProgress(store, { runId: run.id, step: 3, progress: 0.75, timings: { featuresMs: 1200 } });
    expect(getLossCurves(store, run.id)).toEqual({ loss: [[1, 1], [2, 0.5], [3, 1 / 3]], 'loss.level0': [[1, 2], [2, 1], [3, 2 / 3]] });
    const { run: done, modelVersion } = completeTrainingRun(store, { runId: run.id, model: model(), timings: { trainMs: 5000 } });
    expect(done).toMatchObject({ status: 'completed', progress: 1, modelVersionId: modelVersion.id, message: 'step 3', timings: { featuresMs: 1200, trainMs: 5000 } });
    expect(modelVersion).toMatchObject({ number: 1, trainingRunId: run.id, status: 'ready', isActive: false });
    expect(() => appendTrainingProgress(store, { runId: run.id, step: 4, progress: 1 })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  it('stop the worker at its next progress update after a cancel', () => {
    const run = createTrainingRun(store, { datasetId });
    markTrainingRunning(store, { runId: run.id });
    cancelTrainingRun(store, run.id);
    expect(() => appendTrainingProgress(store, { runId: run.id, step: 1, progress: 0.1 })).toThrow(expect.objectContaining({ code: 'CANCELLED' }));
    expect(() => completeTrainingRun(store, { runId: run.id, model: model() })).toThrow(expect.objectContaining({ code: 'CANCELLED' }));
    expect(listModelVersions(store, datasetId)).toEqual([]);
  });

  it('record a failure with its error', () => {
    const run = createTrainingRun(store, { datasetId });
    markTrainingRunning(store, { runId: run.id });
    expect(failTrainingRun(store, { runId: run.id, error: 'NaN loss at step 12' })).toMatchObject({ status: 'failed', error: 'NaN loss at step 12' });
  });

  it('are marked interrupted on open when their process is gone or their heartbeat is stale, then resumed or discarded', () => {
    const dead = createTrainingRun(store, { datasetId });
    markTrainingRunning(store, { runId: dead.id, pid: 2 ** 31 - 2 }); // no such process
    appendTrainingProgress(store, { runId: dead.id, step: 7, progress: 0.3, losses: { loss: 0.2 } });
    const stale = createTrainingRun(store, { datasetId });
    markTrainingRunning(store, { runId: stale.id });
    store.db.prepare(`UPDATE training_runs SET heartbeat_at_ms = ? WHERE id = ?`).run(Date.now() - 10 * 60_000, stale.id);
    const alive = createTrainingRun(store, { datasetId });
    markTrainingRunning(store, { runId: alive.id });
    const again = openStore({ dataDir: store.dir });
    try {
      expect(again.recovered.trainingRuns.sort()).toEqual([dead.id, stale.id]);
      expect(getTrainingRun(again, dead.id)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/ended without finishing/) });
      expect(getTrainingRun(again, stale.id).error).toMatch(/no heartbeat/);
      expect(getTrainingRun(again, alive.id).status).toBe('running');
      expect(recoverInterrupted(again).trainingRuns.map((r) => r.id).sort()).toEqual([dead.id, stale.id]);
      const resumed = resumeTrainingRun(again, dead.id);
      expect(resumed).toMatchObject({ status: 'queued', step: 7, pid: null, error: null });
      expect(getLossCurves(again, dead.id)).toEqual({ loss: [[7, 0.2]] });
      expect(discardTrainingRun(again, stale.id).status).toBe('cancelled');
      expect(recoverInterrupted(again).trainingRuns).toEqual([]);
      expect(() => resumeTrainingRun(again, alive.id)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    } finally {
      again.close();
    }
  });
});

describe('model versions', () => {
  it('are numbered per dataset and exactly one is active, with activations and thresholds audited', () => {
    const v1 = createModelVersion(store, { datasetId, ...model() });
    const v2 = createModelVersion(store, { datasetId, ...model({ parentId: v1.id, threshold: 0.6 }) });
    const other = createModelVersion(store, { datasetId: createDataset(store, { name: 'E' }).id, ...model() });
    expect([v1.number, v2.number, other.number]).toEqual([1, 2, 1]);
    expect(getActiveModelVersion(store, datasetId)).toBeNull();
    activateModelVersion(store, v1.id);
    activateModelVersion(store, other.id);
    expect(activateModelVersion(store, v2.id).isActive).toBe(true);
    expect(listModelVersions(store, datasetId).map((v) => [v.number, v.isActive])).toEqual([[2, true], [1, false]]);
    expect(getActiveModelVersion(store, datasetId)!.id).toBe(v2.id);
    setModelThreshold(store, { id: v2.id, threshold: 0.65 }, rewriteBundleThreshold);
    const audit = listAudit(store, { datasetId, entity: 'model_version' }).reverse().map((e) => `${e.action}#${e.entityId}`);
    expect(audit).toEqual([`activate#${v1.id}`, `deactivate#${v1.id}`, `activate#${v2.id}`, `threshold#${v2.id}`]);
    expect(() => updateModelVersion(store, { id: v2.id, status: 'archived' })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    const draft = createModelVersion(store, { datasetId, ...model({ status: 'draft' }) });
    expect(() => activateModelVersion(store, draft.id)).toThrow(/only a ready model/);
  });

  it('compare config differences and metric deltas, and tell whether the evaluation split is the same', () => {
    const a = createModelVersion(store, { datasetId, ...model() });
    const b = createModelVersion(store, { datasetId, ...model({ config: { flow: { blocks: 4 }, lr: 1e-3, margin: 1 }, metrics: { imageAuroc: 0.95, pixelAupro: 0.7 }, threshold: 0.4 }) });
    const c = compareModelVersions(store, { a: a.id, b: b.id });
    expect(c.configDiff).toEqual([{ path: 'flow.blocks', a: 8, b: 4 }, { path: 'margin', a: undefined, b: 1 }]);
    expect(c.metrics).toEqual([{ key: 'imageAuroc', a: 0.9, b: 0.95, delta: expect.closeTo(0.05, 10) }, { key: 'pixelAupro', a: null, b: 0.7, delta: null }]);
    expect(c.sameEvalSplit).toBe(true);
    expect(c.sameBackbone).toBe(true);
    expect(c.thresholdDelta).toBeCloseTo(-0.1, 10);
  });

  it('write bundles atomically inside the data folder and refuse references outside it', () => {
    const ref = writeBundle(store, { datasetId, fileName: 'v1.bgad', bytes: new Uint8Array([1, 2, 3]) });
    expect(ref).toBe(`bundles/${datasetId}/v1.bgad`);
    expect([...readFileSync(fromDataRef(store.layout.root, ref))]).toEqual([1, 2, 3]);
    expect(createModelVersion(store, { datasetId, ...model({ bundleFile: ref }) }).bundleFile).toBe(ref);
    expect(() => createModelVersion(store, { datasetId, ...model({ bundleFile: '../../etc/passwd' }) })).toThrow(/outside the data folder/);
    expect(() => writeBundle(store, { datasetId, fileName: '../x', bytes: new Uint8Array(1) })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(existsSync(fromDataRef(store.layout.root, ref))).toBe(true);
  });
});

describe('deleting a dataset', () => {
  it('removes its runs, models and bundles, and keeps inspection runs without their model', () => {
    const run = createTrainingRun(store, { datasetId });
    markTrainingRunning(store, { runId: run.id });
    const ref = writeBundle(store, { datasetId, fileName: 'm.bgad', bytes: new Uint8Array([9]) });
    const { modelVersion } = completeTrainingRun(store, { runId: run.id, model: model({ bundleFile: ref }) });
    activateModelVersion(store, modelVersion.id);
    const insp = createInspectionRun(store, { source: '/in', modelVersionId: modelVersion.id });
    deleteDataset(store, { id: datasetId, confirmName: 'D' });
    expect(store.db.prepare(`SELECT count(*) AS n FROM training_runs`).get()).toEqual({ n: 0 });
    expect(store.db.prepare(`SELECT count(*) AS n FROM model_versions`).get()).toEqual({ n: 0 });
    expect(existsSync(fromDataRef(store.layout.root, ref))).toBe(false);
    expect(getInspectionRun(store, insp.id)).toMatchObject({ datasetId: null, modelVersionId: null, source: '/in' });
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
  });
});

describe('inspection runs', () => {
  const sha = (i: number) => i.toString(16).padStart(64, '0');

  it('add results idempotently by image content, and summarise and list them', () => {
    const v = createModelVersion(store, { datasetId, ...model({ threshold: 2 }) });
    const run = createInspectionRun(store, { source: '/incoming', modelVersionId: v.id });
    expect(run).toMatchObject({ status: 'running', datasetId, threshold: 2 });
    expect(addInspectionResults(store, { runId: run.id, results: [
      { path: '/incoming/a.png', sha256: sha(1), score: 1, verdict: 'pass' },
      { path: '/incoming/b.png', sha256: sha(2), score: 3, verdict: 'fail' },
      { path: '/incoming/c.png', sha256: sha(3), verdict: 'error', error: 'Cannot read image' },
    ] })).toEqual({ added: 3, replaced: 0 });
    expect(addInspectionResult(store, { runId: run.id, path: '/incoming/c.png', sha256: sha(3), score: 2.5, verdict: 'fail' })).toEqual({ added: 0, replaced: 1 });
    const got = getInspectionRun(store, run.id);
    expect(got.summary).toMatchObject({ total: 3, pass: 1, fail: 2, error: 0, minScore: 1, maxScore: 3 });
    expect(listInspectionResults(store, { runId: run.id, orderBy: 'score' }).items.map((r) => r.score)).toEqual([3, 2.5, 1]);
    expect(listInspectionResults(store, { runId: run.id, verdict: 'fail', limit: 1 })).toMatchObject({ total: 2, items: [{ path: '/incoming/b.png' }] });
    expect(() => addInspectionResult(store, { runId: run.id, path: '/x', sha256: sha(4), verdict: 'pass' })).toThrow(/needs a score/);
    finishInspectionRun(store, { runId: run.id, status: 'completed' });
    expect(() => addInspectionResult(store, { runId: run.id, path: '/x', sha256: sha(5), score: 1, verdict: 'pass' })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(listInspectionRuns(store, { modelVersionId: v.id }).map((r) => r.status)).toEqual(['completed']);
  });
});
