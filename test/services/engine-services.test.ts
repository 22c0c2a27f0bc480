/**
 * The engine-backed methods through browser mode on a synthetic dataset: training from the
 * dataset's rows (progress with losses, a model version with metrics and the frozen split),
 * the score histogram, single and batch inspection stored in the database, reports, export.
 * Needs the built engine worker (dist/engine/worker.js; `npm test` builds first).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, ModelVersion, TrainingProgressData } from '../../src-main/common/api';
import { getModelVersion, updateModelVersion } from '../../src-main/db/model-versions';
import { fromDataRef } from '../../src-main/db/files';
import { inspectFolder } from '../../src-main/inspection/inspect';
import { loadBundle } from '../../src-main/model/bundle-file';
import { decodeModel } from '../../src-main/autodiff/onnx-proto';
import { describeThresholdRule } from '../../src-main/reports/text';
import type { ApiClient } from '../../src-renderer/lib/api-client';
import { hasEngineWorker, jobEnd, servedSyntheticCategory, type ServedCategory } from './served-engine';

let fx: ServedCategory;
let api: ApiClient;
let store: ServedCategory['store'];
let category: string;
let dir: string;
const hasWorker = hasEngineWorker;

const waitFor = (jobId: string, events: ApiEvent[]): Promise<ApiEvent> => jobEnd(api, jobId, events);

beforeAll(async () => {
  fx = await servedSyntheticCategory('bgad-engine-api-', { seed: 3, category: 'grain' });
  ({ api, store, category, dir } = fx);
}, 120_000);

afterAll(() => fx?.cleanup());

describe.skipIf(!hasWorker)('engine-backed methods in browser mode', () => {
  let model: ModelVersion;

  it('trains from a dataset with live losses and records the model version', async () => {
    const ds = await api.datasets.create({ name: 'Grain' });
    const importEvents: ApiEvent[] = [];
    const imp = await api.datasets.importFolder({ datasetId: ds.id, folder: category });
    expect((await waitFor(imp.jobId, importEvents)).type).toBe('result');

    const events: ApiEvent[] = [];
    const started = await api.training.start({ datasetId: ds.id, preset: 'fast', backboneId: 'mobilenetv2', params: { steps: 30 } });
    const end = await waitFor(started.jobId, events);
    expect(end, JSON.stringify(end)).toMatchObject({ type: 'result' });
    const losses = events.filter((e) => e.type === 'progress').map((e) => (e as { progress: { data?: TrainingProgressData } }).progress.data).filter((d) => d?.losses);
    expect(losses.length).toBeGreaterThan(0);
    expect(Object.keys(losses.at(-1)!.losses)).toContain('loss/level1');

    const run = await api.training.getRun({ runId: started.runId });
    expect(run.status).toBe('completed');
    expect(run.loss['loss/level1']!.length).toBeGreaterThan(1);
    [model] = await api.models.list({ datasetId: ds.id });
    expect(model).toMatchObject({ status: 'ready', backboneId: 'mobilenetv2', trainingRunId: started.runId });
    expect(typeof model!.metrics.imageAuroc).toBe('number');
    expect(model!.threshold).not.toBeNull();
    const split = model!.evalSplit as { good: unknown[]; defect: unknown[] };
    expect(split.good.length).toBeGreaterThan(0);
    expect(split.defect.length).toBeGreaterThan(0);
  }, 180_000);

  it('answers the histogram of the frozen test split with threshold and boundary', async () => {
    const h = await api.models.histogram({ modelId: model.id, bins: 20 });
    const split = model.evalSplit as { good: unknown[]; defect: unknown[] };
    expect(h.normal.reduce((a, b) => a + b, 0)).toBe(split.good.length);
    expect(h.defect.reduce((a, b) => a + b, 0)).toBe(split.defect.length);
    expect(h.binEdges).toHaveLength(21);
    expect(h.threshold).toBe(model.threshold);
    expect(h.scores.normal).toHaveLength(split.good.length);
    // the scores come from the train job itself, stored with the version (no second scoring job)
    const stored = model.metrics.testScores as { normal: number[]; defect: number[] };
    expect(stored.normal).toHaveLength(split.good.length);
    expect(stored.defect).toHaveLength(split.defect.length);
    expect(h.scores).toEqual(stored);
  });

  it('scores the test split once for a version stored without test scores (older data folders)', async () => {
    const { testScores, ...older } = model.metrics as Record<string, unknown> & { testScores: { normal: number[]; defect: number[] } };
    updateModelVersion(store, { id: model.id, metrics: older });
    expect(getModelVersion(store, model.id).metrics.testScores).toBeUndefined();
    const h = await api.models.histogram({ modelId: model.id, bins: 20 });
    expect(h.scores.normal).toHaveLength(testScores.normal.length);
    expect(h.scores.defect).toHaveLength(testScores.defect.length);
    // the same images and features as the training's evaluation: the same scores
    h.scores.normal.forEach((v, i) => expect(v).toBeCloseTo(testScores.normal[i]!, 5));
    h.scores.defect.forEach((v, i) => expect(v).toBeCloseTo(testScores.defect[i]!, 5));
    expect(getModelVersion(store, model.id).metrics.testScores).toEqual(h.scores);
  }, 120_000);

  it('inspects one image and a folder, storing results with heat maps', async () => {
    await api.models.activate({ modelId: model.id });
    const one = await api.inspection.inspectImage({ datasetId: model.datasetId, path: join(category, 'test', 'good', '000.png') });
    expect(['pass', 'fail']).toContain(one.verdict);
    expect(existsSync(one.heatmapPath)).toBe(true);

    const events: ApiEvent[] = [];
    const batch = await api.inspection.startBatch({ modelId: model.id, folder: join(category, 'test') });
    const end = await waitFor(batch.jobId, events);
    expect(end.type).toBe('result');
    const r = await api.inspection.getRun({ runId: batch.runId });
    expect(r.status).toBe('completed');
    expect(r.summary.total).toBe(30);
    const page = await api.inspection.results({ runId: batch.runId, orderBy: 'score', limit: 5 });
    expect(page.total).toBe(30);
    expect(page.items[0]!.heatmapPath && existsSync(page.items[0]!.heatmapPath)).toBeTruthy();

    const csv = await api.inspection.exportReport({ runId: batch.runId, format: 'csv', outPath: join(dir, 'out.csv') });
    expect(statSync(csv.path).size).toBeGreaterThan(100);
  }, 120_000);

  it('applies a threshold changed in the app everywhere: app inspection, the bundle for bgad inspect, reports and the exported ONNX', async () => {
    const bundleFile = fromDataRef(join(dir, 'data'), model.bundleFile!);
    const cliOut = join(dir, 'cli-run');
    const before = await inspectFolder({ model: bundleFile, input: join(category, 'test'), out: cliOut, formats: ['csv'] });
    // a threshold at the median score: about half the files change their verdict
    const scores = (await readFile(join(cliOut, 'results.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'result').map((l) => l.score as number).sort((a, b) => a - b);
    const t = Math.fround((scores[14]! + scores[15]!) / 2);
    expect(before.fail === 15).toBe(false);

    const changed = await api.models.setThreshold({ modelId: model.id, threshold: t });
    expect(changed.threshold).toBe(t);
    expect((await api.models.list({ datasetId: model.datasetId })).find((m) => m.id === model.id)!.threshold).toBe(t);

    // the bundle file says so, with the change recorded beside the training-time rule
    const bundle = await loadBundle(bundleFile);
    expect(bundle.meta.threshold).toBe(t);
    expect(bundle.meta.thresholdRule).toMatchObject({ kind: 'set-by-user', previous: model.threshold, trained: { kind: 'held-out-false-reject-rate' } });

    // the app's inspection of one image and of a folder
    const one = await api.inspection.inspectImage({ modelId: model.id, path: join(category, 'test', 'good', '000.png') });
    expect(one.threshold).toBe(t);
    expect(one.verdict).toBe(one.score! > t ? 'fail' : 'pass');
    const batch = await api.inspection.startBatch({ modelId: model.id, folder: join(category, 'test') });
    expect((await waitFor(batch.jobId, [])).type).toBe('result');
    const run = await api.inspection.getRun({ runId: batch.runId });
    expect(run.threshold).toBe(t);
    expect(run.summary.fail).toBe(15);
    const csv = await api.inspection.exportReport({ runId: batch.runId, format: 'csv', outPath: join(dir, 'after.csv') });
    const csvFails = (await readFile(csv.path, 'utf8')).split('\n').filter((l) => /,fail,/.test(l)).length;
    expect(csvFails).toBe(15);

    // bgad inspect with the version's bundle: the same folder resumes (same scores) and re-judges at the new threshold
    const after = await inspectFolder({ model: bundleFile, input: join(category, 'test'), out: cliOut, formats: ['csv'] });
    expect(after).toMatchObject({ threshold: t, thresholdSource: 'model', fail: 15, resumed: 30 });
    expect((await readFile(join(cliOut, 'results.csv'), 'utf8')).split('\n').filter((l) => /,fail,/.test(l))).toHaveLength(15);
    expect(describeThresholdRule(after.model)).toMatch(/changed by hand/);

    // the Models view's export carries it in the ONNX metadata
    const exported = await api.models.export({ modelId: model.id, outPath: join(dir, 'model.onnx') });
    const props = Object.fromEntries((decodeModel(await readFile(exported.path)).metadataProps ?? []).map((p) => [p.key, p.value]));
    expect(Number(props.threshold)).toBe(t);
    expect(JSON.parse(props.threshold_rule!)).toMatchObject({ kind: 'set-by-user' });
  }, 180_000);

  it('refuses to train a dataset without enough good images', async () => {
    const empty = await api.datasets.create({ name: 'Empty' });
    await expect(api.training.start({ datasetId: empty.id, preset: 'fast', backboneId: 'mobilenetv2' })).rejects.toMatchObject({ code: 'BAD_DATASET' });
  });
});
