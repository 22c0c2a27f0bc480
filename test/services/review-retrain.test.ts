/**
 * The review loop end to end through browser mode's API on synthetic data, with the engine:
 * a model trained, a folder inspected (normal pictures with a planted harmless pattern, which
 * the model flags, and a defect it has never seen), the pattern marked good and the defect
 * marked defect and painted (masks API), the next version retrained from the review and
 * compared with the one it replaces: the false alarms score lower, the painted defect is a
 * known anomaly of the new version, the frozen test split is the same, and activation is
 * audited. Needs the built engine worker (dist/engine/worker.js; `npm test` builds first).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, ModelVersion } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { servicesForStore, lazyEngine } from '../../src-main/services';
import { EngineHost } from '../../src-main/engine/engine-host';
import { openStore } from '../../src-main/db/store';
import { fromDataRef } from '../../src-main/db/files';
import { loadBundle } from '../../src-main/model/bundle-file';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { createApiClient, httpTransport, type ApiClient } from '../../src-renderer/lib/api-client';
import { sessionCookie, sessionWebSocket } from '../api-host/browser-session';

const SIZE = 64;
const STEPS = 60;
let dir: string;
let running: Awaited<ReturnType<typeof startServe>>;
let api: ApiClient;
let category: string;
let line: string;
let unseenMask: string;
const hasWorker = existsSync(join(process.cwd(), 'dist', 'engine', 'worker.js'));
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function waitFor(jobId: string): Promise<ApiEvent> {
  return new Promise((ok) => {
    const off = api.onEvent((e) => {
      if ('jobId' in e && e.jobId === jobId && (e.type === 'result' || e.type === 'error')) {
        off();
        ok(e);
      }
    });
  });
}

/** A normal picture with a harmless mark planted on it: a dark ring with a bright centre at the same place on every part (a label, a fixture). */
async function plantPattern(src: string, out: string): Promise<void> {
  const { data, info } = await sharp(src).raw().toBuffer({ resolveWithObject: true });
  const c = info.channels;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const d = Math.hypot(x - 20, y - 22);
      if (d > 9) continue;
      for (let k = 0; k < c; k++) data[(y * info.width + x) * c + k] = d < 4 ? 250 : 15;
    }
  }
  await sharp(data, { raw: { width: info.width, height: info.height, channels: c } }).png().toFile(out);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-review-retrain-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'synth'), seed: 3, sizePx: SIZE, categories: ['grain'] });
  category = synth.categories[0]!.dir;
  // the line's pictures: six normal parts with the mark, and a defect of a kind the dataset has (but another picture)
  const other = await generateSyntheticDataset({ outDir: join(dir, 'other'), seed: 11, sizePx: SIZE, categories: ['grain'] });
  line = join(dir, 'line');
  mkdirSync(line);
  for (let i = 0; i < 6; i++) await plantPattern(join(other.categories[0]!.dir, 'train', 'good', `0${10 + i}.png`), join(line, `marked-${i}.png`));
  const type = other.categories[0]!.defectTypes[0]!;
  const { copyFileSync } = await import('node:fs');
  copyFileSync(join(other.categories[0]!.dir, 'test', type, '000.png'), join(line, 'unseen-defect.png'));
  unseenMask = join(other.categories[0]!.dir, 'ground_truth', type, '000_mask.png');
  const store = openStore({ dataDir: join(dir, 'data') });
  running = await startServe({ appRoot: process.cwd(), services: servicesForStore(store, { engine: lazyEngine(() => EngineHost.workerThread()) }), out: () => {} });
  const base = `http://127.0.0.1:${running.server.port}`;
  const cookie = await sessionCookie(base, running.server.token);
  api = createApiClient(httpTransport({ token: running.server.token, baseUrl: base, WebSocket: sessionWebSocket(base, cookie) }));
}, 120_000);

afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasWorker)('retraining from the review', () => {
  let v1: ModelVersion;
  let v2: ModelVersion;
  let datasetId: number;
  let runId: number;

  it('trains a first version and inspects the line: the marked parts are flagged', async () => {
    datasetId = (await api.datasets.create({ name: 'Grain' })).id;
    expect((await waitFor((await api.datasets.importFolder({ datasetId, folder: category })).jobId)).type).toBe('result');
    const t = await api.training.start({ datasetId, preset: 'fast', backboneId: 'mobilenetv2', params: { steps: STEPS } });
    expect(await waitFor(t.jobId)).toMatchObject({ type: 'result' });
    [v1] = await api.models.list({ datasetId });
    await api.models.activate({ modelId: v1!.id });
    const batch = await api.inspection.startBatch({ modelId: v1!.id, folder: line });
    expect((await waitFor(batch.jobId)).type).toBe('result');
    runId = batch.runId;
    const q = await api.review.queue({ runId });
    expect(q.total).toBe(7);
    const marked = q.items.filter((i) => i.path.includes('marked-'));
    // the mark looks anomalous to the first version: most marked parts fail
    expect(marked.filter((i) => i.verdict === 'fail').length, JSON.stringify(marked.map((i) => i.score))).toBeGreaterThanOrEqual(4);
  }, 240_000);

  it('marks the false alarms good and the defect defect, paints it, and retrains with the same settings', async () => {
    const q = await api.review.queue({ runId });
    const marked = q.items.filter((i) => i.path.includes('marked-')).map((i) => i.id);
    const defect = q.items.find((i) => i.path.endsWith('unseen-defect.png'))!;
    await api.review.decide({ runId, resultIds: marked, decision: 'good' });
    const d = await api.review.decide({ runId, resultIds: [defect.id], decision: 'defect' });
    expect(d.progress).toMatchObject({ reviewed: 7, total: 7, good: 6, defect: 1 });
    const imageId = d.decided[0]!.imageId!;
    const types = await api.defectTypes.list({ datasetId });
    const { data, info } = await sharp(unseenMask).greyscale().raw().toBuffer({ resolveWithObject: true });
    const mask = Uint8Array.from(data, (v) => (v > 127 ? 1 : 0));
    const img = await api.images.get({ imageId });
    const type = types.find((t) => t.name === img.defectType) ?? types[0]!;
    expect(await api.masks.save({ imageId, defectTypeId: type.id, width: info.width, height: info.height, data: mask })).not.toBeNull();

    const r = await api.review.retrain({ modelId: v1.id });
    expect(r.replaces).toBe(v1.id);
    expect(await waitFor(r.jobId)).toMatchObject({ type: 'result' });
    [v2] = await api.models.list({ datasetId });
    expect(v2).toMatchObject({ number: v1.number + 1, parentId: v1.id, backboneId: v1.backboneId });
    expect((v2!.config as { params: unknown }).params).toEqual({ steps: STEPS });
    expect(v2!.metrics.knownAnomalies).toBe((v1.metrics.knownAnomalies as number) + 1);
    // the painted defect is a known anomaly of the new version (its bundle lists it)
    const bundle = await loadBundle(fromDataRef(join(dir, 'data'), v2!.bundleFile!));
    expect(bundle.meta.anomaliesUsed.map((a) => a.sha256)).toContain(sha(join(line, 'unseen-defect.png')));
    // the marked parts are normal training images of the new version
    const good = await api.images.list({ datasetId, label: 'good', split: 'train', search: 'marked-' });
    expect(good.total).toBe(6);
  }, 300_000);

  it('compares the two versions: same frozen test split, the false alarms score lower in the new version', async () => {
    const c = await api.review.compare({ modelIdA: v1.id, modelIdB: v2.id });
    expect(c.comparison.sameEvalSplit).toBe(true);
    expect(c.comparison.metrics.some((m) => m.key === 'imageAuroc')).toBe(true);
    expect(c.reviewed).toHaveLength(7);
    const marked = c.reviewed.filter((r) => r.decision === 'good');
    expect(marked).toHaveLength(6);
    for (const m of marked) expect(m.scoreB, `${m.path}: v1 ${m.scoreA}, v2 ${m.scoreB}`).toBeLessThan(m.scoreA);
    // relative to each version's own threshold too
    const margin = (s: number, t: number | null) => s - t!;
    const meanA = marked.reduce((a, m) => a + margin(m.scoreA, v1.threshold), 0) / marked.length;
    const meanB = marked.reduce((a, m) => a + margin(m.scoreB, v2.threshold), 0) / marked.length;
    expect(meanB).toBeLessThan(meanA);
    expect(c.counts.fixedFalseAlarms).toBe(marked.filter((m) => m.change === 'fixed').length);
    expect(c.counts.reviewed).toBe(7);
  }, 240_000);

  it('activates the new version in one call, audited', async () => {
    await api.models.activate({ modelId: v2.id });
    expect((await api.models.list({ datasetId })).find((m) => m.isActive)!.id).toBe(v2.id);
    const audit = await api.audit.list({ kinds: ['model_version.activate'] });
    expect(audit.rows[0]).toMatchObject({ entityId: v2.id, subject: `model v${v2.number}` });
  });

  it('keeps single images inspected for review in the version\'s "single images" run, and only those', async () => {
    await api.inspection.inspectImage({ modelId: v2.id, path: join(line, 'marked-0.png') });
    expect((await api.inspection.listRuns({ modelId: v2.id })).filter((r) => r.source === 'single images')).toEqual([]);
    const one = await api.inspection.inspectImage({ modelId: v2.id, path: join(line, 'marked-1.png'), review: true });
    const runs = (await api.inspection.listRuns({ modelId: v2.id })).filter((r) => r.source === 'single images');
    expect(runs).toHaveLength(1);
    const q = await api.review.queue({ runId: runs[0]!.id });
    expect(q.items).toHaveLength(1);
    expect(q.items[0]).toMatchObject({ path: one.imagePath, score: one.score, verdict: one.verdict, heatmapPath: one.heatmapPath });
  }, 120_000);
});
