/**
 * The engine-backed methods through browser mode on a synthetic dataset: training from the
 * dataset's rows (progress with losses, a model version with metrics and the frozen split),
 * the score histogram, single and batch inspection stored in the database, reports, export.
 * Needs the built engine worker (dist/engine/worker.js; `npm test` builds first).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiEvent, ModelVersion, TrainingProgressData } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { servicesForStore, lazyEngine } from '../../src-main/api-host/services-wiring';
import { EngineHost } from '../../src-main/runtime/engine-host';
import { openStore } from '../../src-main/services/store';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { createApiClient, httpTransport, type ApiClient, type WebSocketLike } from '../../src-renderer/lib/api-client';

let dir: string;
let running: Awaited<ReturnType<typeof startServe>>;
let api: ApiClient;
let category: string;
const hasWorker = existsSync(join(process.cwd(), 'dist', 'engine', 'worker.js'));

function waitFor(jobId: string, events: ApiEvent[]): Promise<ApiEvent> {
  return new Promise((ok) => {
    const off = api.onEvent((e) => {
      if ('jobId' in e && e.jobId === jobId) {
        events.push(e);
        if (e.type === 'result' || e.type === 'error') {
          off();
          ok(e);
        }
      }
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-engine-api-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'synth'), seed: 3, sizePx: 64, categories: ['grain'] });
  category = synth.categories[0]!.dir;
  const store = openStore({ dataDir: join(dir, 'data') });
  running = await startServe({ appRoot: process.cwd(), services: servicesForStore(store, lazyEngine(() => new EngineHost())), out: () => {} });
  api = createApiClient(httpTransport({ token: running.server.token, baseUrl: `http://127.0.0.1:${running.server.port}`, WebSocket: WebSocket as unknown as new (u: string) => WebSocketLike }));
}, 120_000);

afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

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
  });

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

  it('refuses to train a dataset without enough good images', async () => {
    const empty = await api.datasets.create({ name: 'Empty' });
    await expect(api.training.start({ datasetId: empty.id, preset: 'fast', backboneId: 'mobilenetv2' })).rejects.toMatchObject({ code: 'BAD_DATASET' });
  });
});
