/**
 * The review band through the API contract (issue 20), on real services over a temporary data
 * folder with the inspection fixture's trained model, the engine worker and the station worker:
 * the default proposal with the threshold's histogram, setting and clearing the band (audited,
 * written into the bundle `bgad inspect --review-band` reads), the threshold kept inside it, the
 * verdict review in a single inspection, a batch run and its reports, and a station's counters,
 * rows, results.csv, queued events and --move-to review/ folder.
 * Needs dist/engine/worker.js and dist/engine/station-worker.js (built when missing).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandlers, ModelVersion, ReviewBand, StationStatus } from '../../src-main/common/api';
import { isAppError } from '../../src-main/common/errors';
import { createModelVersion } from '../../src-main/db/model-versions';
import { fromDataRef } from '../../src-main/db/files';
import { openStore, type Store } from '../../src-main/db/store';
import { EngineHost } from '../../src-main/engine/engine-host';
import { inspectFolder } from '../../src-main/inspection/inspect';
import { loadBundle, readModelSource } from '../../src-main/model/bundle-file';
import { parseCsv } from '../../src-main/reports/csv';
import { JobHub, SettingsStore, lazyEngine, servicesForStore, type HostedServices } from '../../src-main/services';
import { pdfText } from '../helpers/pdf-text';
import { ensureStationWorker, getFixture, queuedEvents, removeDir, tempDir, waitFor, type Fixture } from '../station/helpers';

let fx: Fixture;
let dir: string;
let store: Store;
let services: HostedServices;
let h: ApiHandlers;
let model: ModelVersion;
let bundleFile: string;
/** good/000's score, and a band from just below it up to the threshold: good/000 is reviewed, the fails stay fails. */
let score0: number;
let band: ReviewBand;

const good = (i: number) => join(fx.testDir, 'good', `${String(i).padStart(3, '0')}.png`);
const spot = (i: number) => join(fx.testDir, 'spot', `${String(i).padStart(3, '0')}.png`);

async function expectError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(isAppError(e), String(e)).toBe(true);
  expect(e).toMatchObject({ code });
  expect((e as Error).message).toMatch(message);
}

beforeAll(async () => {
  ensureStationWorker();
  fx = await getFixture();
  dir = tempDir('bgad-review-band-api-');
  store = openStore({ dataDir: join(dir, 'data') });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  services = servicesForStore(store, { heartbeatMs: 200, engine: lazyEngine(() => EngineHost.workerThread()) })
    .host({ jobs: new JobHub(), settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  h = services.handlers;
  const ds = await h['datasets.create']({ name: 'Stripes' });
  mkdirSync(join(store.layout.root, 'bundles'), { recursive: true });
  copyFileSync(fx.modelPath, join(store.layout.root, 'bundles', 'stripes.bgad'));
  const b = fx.bundle.meta.backbone;
  model = createModelVersion(store, {
    datasetId: ds.id, backboneId: b.id, backboneHash: b.sha256, bundleFile: 'bundles/stripes.bgad', threshold: fx.bundle.meta.threshold,
    metrics: { testScores: { normal: [0.1, 0.2], defect: [5, 6] } },
  });
  bundleFile = fromDataRef(store.layout.root, 'bundles/stripes.bgad');
}, 600_000);

afterAll(async () => {
  await services?.close();
  removeDir(dir);
});

describe('the review band through the API', () => {
  it('comes with a default proposal from the calibration normals, around the threshold', async () => {
    const hist = await h['models.histogram']({ modelId: model.id });
    expect(hist.reviewBand).toBeNull();
    const p = hist.reviewBandProposal!;
    expect(p).toMatchObject({ source: 'calibration', method: 'normal-fit', scores: fx.bundle.meta.heldOutScores!.length });
    expect(p.low).toBeLessThanOrEqual(model.threshold!);
    expect(p.high).toBeGreaterThanOrEqual(model.threshold!);
    expect(p.high).toBeGreaterThan(p.low);
  });

  it('a single inspection passes or fails as before while the version has no band', async () => {
    const r = await h['inspection.inspectImage']({ modelId: model.id, path: good(0) });
    expect(r.verdict).toBe('pass');
    expect(r.reviewBand).toBeNull();
    score0 = r.score;
    band = { low: score0 - 1e-4, high: model.threshold! };
  }, 120_000);

  it('is set (audited, written into the bundle, scores untouched) and refused when it does not hold the threshold', async () => {
    await expectError(h['models.setReviewBand']({ modelId: model.id, band: { low: model.threshold! + 1, high: model.threshold! + 2 } }), 'BAD_ARGUMENT', /does not hold the threshold/);
    const before = await readModelSource(bundleFile);
    const mv = await h['models.setReviewBand']({ modelId: model.id, band });
    expect(mv.reviewBand).toEqual(band);
    expect((await h['models.list']({ datasetId: model.datasetId }))[0]!.reviewBand).toEqual(band);
    expect((await loadBundle(bundleFile)).meta.reviewBand).toEqual(band);
    const after = await readModelSource(bundleFile);
    expect(after.sha256).not.toBe(before.sha256);
    expect(after.scoringSha256).toBe(before.scoringSha256);
    const audit = await h['audit.list']({ kinds: ['model_version.review_band'] });
    expect(audit.rows.map((e) => [e.entityId, e.new])).toEqual([[model.id, { reviewBand: band }]]);
    expect((await h['models.histogram']({ modelId: model.id })).reviewBand).toEqual(band);
    // the threshold stays inside the band
    await expectError(h['models.setThreshold']({ modelId: model.id, threshold: band.high + 1 }), 'CONFLICT', /outside the review band/);
  });

  it('gives the verdict review to a single image in the band', async () => {
    const r = await h['inspection.inspectImage']({ modelId: model.id, path: good(0) });
    expect(r.score).toBeCloseTo(score0, 5);
    expect([r.verdict, r.reviewBand]).toEqual(['review', band]);
    expect((await h['inspection.inspectImage']({ modelId: model.id, path: spot(0) })).verdict).toBe('fail');
  }, 120_000);

  it('judges a batch run with it, stores the reviews and counts them in its reports', async () => {
    const folder = join(dir, 'batch');
    mkdirSync(folder);
    copyFileSync(good(0), join(folder, 'g0.png'));
    copyFileSync(spot(0), join(folder, 's0.png'));
    const { jobId, runId } = await h['inspection.startBatch']({ modelId: model.id, folder });
    await waitFor(async () => (await h['jobs.get']({ jobId })).status !== 'running', 'the batch to finish', 120_000);
    expect((await h['jobs.get']({ jobId })).status).toBe('completed');
    const run = await h['inspection.getRun']({ runId });
    expect(run.reviewBand).toEqual(band);
    expect(run.summary).toMatchObject({ total: 2, review: 1, fail: 1, pass: 0 });
    const reviews = await h['inspection.results']({ runId, verdict: 'review' });
    expect(reviews.items.map((r) => r.path)).toEqual([join(folder, 'g0.png')]);
    // the run's own report, and one made from the stored rows
    const pdf = await h['inspection.exportReport']({ runId, format: 'pdf', outPath: join(dir, 'batch.pdf') });
    expect(await pdfText(pdf.path)).toMatch(/Total Pass Fail Error Review\s+2 0 1 0 1/);
    const stored = await h['inspection.exportReport']({ runId, format: 'pdf', outPath: join(dir, 'stored.pdf'), fromMs: 0 });
    const text = await pdfText(stored.path);
    expect(text).toMatch(/Total Pass Fail Error Review\s+2 0 1 0 1/);
    expect(text).toContain('Images to review (1)');
    const csv = await h['inspection.exportReport']({ runId, format: 'csv', outPath: join(dir, 'batch.csv') });
    expect(parseCsv(readFileSync(csv.path, 'utf8')).filter((r) => r[3] === 'review').map((r) => r[0])).toEqual(['g0.png']);
  }, 180_000);

  it('makes a station count reviews, store them, write them in results.csv and its events, and move them to review/', async () => {
    const cam = join(dir, 'camera');
    const out = join(dir, 'station-out');
    const moveTo = join(dir, 'sorted');
    mkdirSync(cam);
    const { stationId, runId } = await h['station.start']({ modelId: model.id, input: cam, out, moveTo, settleMs: 100 });
    copyFileSync(good(0), join(cam, 'g0.png'));
    copyFileSync(spot(0), join(cam, 's0.png'));
    let s: StationStatus | null = null;
    await waitFor(async () => ((s = await h['station.status']({}))?.counts.total ?? 0) >= 2, 'two station results', 90_000);
    expect(s!.counts).toMatchObject({ total: 2, pass: 0, fail: 1, review: 1 });
    expect(s!.reviewBand).toEqual(band);
    expect(s!.scores.map((x) => x.verdict).sort()).toEqual(['fail', 'review']);
    const g0 = s!.last.find((r) => r.rel === 'g0.png')!;
    expect(g0.verdict).toBe('review');
    expect(g0.movedTo).toBe(join(moveTo, 'review', 'g0.png'));
    expect(existsSync(join(moveTo, 'review', 'g0.png'))).toBe(true);
    expect(existsSync(join(moveTo, 'fail', 's0.png'))).toBe(true);
    await h['station.stop']({ stationId });
    expect((await h['inspection.getRun']({ runId })).summary).toMatchObject({ review: 1, fail: 1 });
    const csvRows = parseCsv(readFileSync(join(out, 'results.csv'), 'utf8'));
    expect(csvRows.find((r) => r[0] === 'g0.png')?.[3]).toBe('review');
    const events = queuedEvents(out);
    expect(events.find((e) => e.path === 'g0.png')).toMatchObject({ verdict: 'review', reviewBand: band, threshold: model.threshold });
    expect(events.find((e) => e.path === 's0.png')).toMatchObject({ verdict: 'fail', reviewBand: band });
  }, 180_000);

  it('is cleared through the API: gone from the bundle, so bgad inspect --review-band refuses it', async () => {
    const mv = await h['models.setReviewBand']({ modelId: model.id, band: null });
    expect(mv.reviewBand).toBeNull();
    expect((await loadBundle(bundleFile)).meta.reviewBand).toBeUndefined();
    const r = await h['inspection.inspectImage']({ modelId: model.id, path: good(0) });
    expect(r.verdict).toBe('pass');
    await expect(inspectFolder({ model: bundleFile, input: fx.testDir, out: join(dir, 'cli'), include: ['good/000.png'], formats: [], reviewBand: 'model' }))
      .rejects.toThrow(/has no review band/);
    expect((await h['audit.list']({ kinds: ['model_version.review_band'] })).rows).toHaveLength(2);
  }, 60_000);
});
