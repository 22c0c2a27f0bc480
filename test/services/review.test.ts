/**
 * The `review` group over a real data folder and real picture files (no engine): the queue's
 * order (band, fails, rest), one decision per keystroke with its image added by content (never
 * twice), re-deciding, undo (refused where it would delete a painted mask), progress, the audit
 * log with who decided, files that are gone or changed, and single images kept for review.
 * The retrain and the comparison (which need the engine) are in review-retrain.test.ts.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandlers, ReviewQueue } from '../../src-main/common/api';
import { dispatch } from '../../src-main/api-host/dispatch';
import { addInspectionResults, createInspectionRun, finishInspectionRun } from '../../src-main/db/inspections';
import { createModelVersion } from '../../src-main/db/model-versions';
import { recordSingleInspection } from '../../src-main/db/review';
import { openStore, type Store } from '../../src-main/db/store';
import { createApiHandlers, JobHub, SettingsStore } from '../../src-main/services';
import { generateSyntheticDataset } from '../../src-main/synth/generate';

let dir: string;
let store: Store;
let h: ApiHandlers;
let datasetId: number;
let runId: number;
let modelId: number;
let photos: string;
/** result id by file name */
const rid = new Map<string, number>();

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const me = userInfo().username;

/** A run of the model with these (file, score) pairs; threshold 1, error rows where score is null. */
function makeRun(files: [string, number | null][]): number {
  const run = createInspectionRun(store, { source: photos, modelVersionId: modelId });
  addInspectionResults(store, {
    runId: run.id,
    results: files.map(([f, score]) => ({ path: join(photos, f), sha256: score === null ? 'e'.repeat(64) : sha(join(photos, f)), score, verdict: score === null ? 'error' : score > 1 ? 'fail' : 'pass', error: score === null ? 'unreadable' : null })),
  });
  finishInspectionRun(store, { runId: run.id, status: 'completed' });
  return run.id;
}

async function call<T>(method: string, args: unknown): Promise<T> {
  const r = await dispatch(h, method, args, () => {});
  if (!r.ok) throw Object.assign(new Error(r.error.message), r.error);
  return r.value as T;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-review-'));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'synth'), seed: 5, sizePx: 32, categories: ['grain'] });
  const good = join(synth.categories[0]!.dir, 'test', 'good');
  photos = join(dir, 'line');
  rmSync(photos, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(photos);
  for (let i = 0; i < 7; i++) copyFileSync(join(good, `00${i}.png`), join(photos, `p${i}.png`));
  store = openStore({ dataDir: join(dir, 'data') });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  h = createApiHandlers({ store, dataDir: store.layout.root, jobs: new JobHub({ progressIntervalMs: 0 }), settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  datasetId = (await h['datasets.create']({ name: 'Grain line' })).id;
  // calibration: mapMax 3, threshold 1 -> heat scale half width 2 -> default band 1 ± 0.5
  modelId = createModelVersion(store, { datasetId, backboneId: 'b', backboneHash: 'h', threshold: 1, calibration: { mapMax: 3 } }).id;
  runId = makeRun([['p0.png', 0.2], ['p1.png', 0.9], ['p2.png', 1.05], ['p3.png', 1.4], ['p4.png', 2.5], ['p5.png', 0.6], ['p6.png', null]]);
  const q = await call<ReviewQueue>('review.queue', { runId });
  for (const it of q.items) rid.set(it.path.split('/').at(-1)!, it.id);
});

afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const images = async () => (await h['images.list']({ datasetId, limit: 1000 })).items;

describe('the review queue', () => {
  it('puts the band first (closest to the threshold first), then fails (highest first), then the rest; errors are left out', async () => {
    const q = await call<ReviewQueue>('review.queue', { runId });
    expect(q.defaultBand).toBe(true);
    expect(q.band).toEqual({ low: 0.5, high: 1.5 });
    expect(q.threshold).toBe(1);
    expect(q.items.map((i) => [i.path.split('/').at(-1), i.group])).toEqual([
      ['p2.png', 'band'], ['p1.png', 'band'], ['p3.png', 'band'], ['p5.png', 'band'],
      ['p4.png', 'fail'],
      ['p0.png', 'rest'],
    ]);
    expect(q.total).toBe(6);
    expect(q.progress).toMatchObject({ total: 6, reviewed: 0 });
    // a band given (e.g. the model version's review band) replaces the default
    const narrow = await call<ReviewQueue>('review.queue', { runId, band: { low: 0.95, high: 1.1 } });
    expect(narrow.items.map((i) => i.group)).toEqual(['band', 'fail', 'fail', 'rest', 'rest', 'rest']);
    expect(narrow.items[1]!.path).toMatch(/p4\.png$/);
    await expect(call('review.queue', { runId, band: { low: 2, high: 1 } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('decisions', () => {
  it('G adds a false alarm as a normal training image, audited with who decided', async () => {
    const r = await call<{ decided: { imageId: number; added: boolean }[]; progress: { reviewed: number; total: number } }>('review.decide', { runId, resultIds: [rid.get('p3.png')], decision: 'good' });
    expect(r.decided[0]!.added).toBe(true);
    expect(r.progress).toMatchObject({ reviewed: 1, total: 6, good: 1 });
    const img = await h['images.get']({ imageId: r.decided[0]!.imageId });
    expect(img).toMatchObject({ path: join(photos, 'p3.png'), label: 'good', split: 'train', sha256: sha(join(photos, 'p3.png')) });
    const audit = await h['audit.list']({ kinds: ['review.good'] });
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]).toMatchObject({ actor: me, subject: join(photos, 'p3.png'), datasetId });
    expect(audit.rows[0]!.atMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('D adds a defect; undo takes it back and the image leaves the dataset', async () => {
    const r = await call<{ decided: { imageId: number }[] }>('review.decide', { runId, resultIds: [rid.get('p1.png')], decision: 'defect' });
    expect((await h['images.get']({ imageId: r.decided[0]!.imageId })).label).toBe('defect');
    expect(await images()).toHaveLength(2);
    const u = await call<{ undone: { removedImageId: number | null }[]; progress: { reviewed: number } }>('review.undo', { runId });
    expect(u.undone).toEqual([{ resultId: rid.get('p1.png'), decision: 'defect', removedImageId: r.decided[0]!.imageId }]);
    expect(u.progress.reviewed).toBe(1);
    expect((await images()).map((i) => i.path)).toEqual([join(photos, 'p3.png')]);
    expect((await h['audit.list']({ kinds: ['review.undo'] })).rows[0]).toMatchObject({ actor: me });
  });

  it('refuses to undo a defect whose mask was painted since, until the mask is gone', async () => {
    const r = await call<{ decided: { imageId: number }[] }>('review.decide', { runId, resultIds: [rid.get('p1.png')], decision: 'defect' });
    const imageId = r.decided[0]!.imageId;
    const type = await h['defectTypes.create']({ datasetId, name: 'scratch' });
    const data = new Uint8Array(32 * 32);
    data.fill(1, 40, 60);
    await h['masks.save']({ imageId, defectTypeId: type.id, width: 32, height: 32, data });
    await expect(call('review.undo', { runId })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('mask') });
    expect((await h['images.get']({ imageId })).maskCount).toBe(1);
    expect((await call<{ reviewed: number }>('review.progress', { runId })).reviewed).toBe(2);
  });

  it('deciding again replaces the decision (the mask is kept); undo brings the earlier decision back', async () => {
    const imageId = (await images()).find((i) => i.path.endsWith('p1.png'))!.id;
    await call('review.decide', { runId, resultIds: [rid.get('p1.png')], decision: 'good' });
    expect(await h['images.get']({ imageId })).toMatchObject({ label: 'good', maskCount: 1 });
    await call('review.undo', { runId });
    expect(await h['images.get']({ imageId })).toMatchObject({ label: 'defect', maskCount: 1 });
    const q = await call<ReviewQueue>('review.queue', { runId });
    expect(q.items.find((i) => i.id === rid.get('p1.png'))).toMatchObject({ decision: 'defect', imageId });
  });

  it('S on a good decision takes its image back out; undo puts it back with the same id', async () => {
    const before = (await images()).find((i) => i.path.endsWith('p3.png'))!;
    await call('review.decide', { runId, resultIds: [rid.get('p3.png')], decision: 'skip' });
    expect((await images()).some((i) => i.path.endsWith('p3.png'))).toBe(false);
    await call('review.undo', { runId });
    const back = (await images()).find((i) => i.path.endsWith('p3.png'))!;
    expect(back).toMatchObject({ id: before.id, label: 'good', split: 'train' });
  });

  it('decides on a selection at once, and undo takes the whole batch back', async () => {
    const ids = ['p0.png', 'p5.png', 'p2.png'].map((f) => rid.get(f)!);
    const r = await call<{ batch: number; progress: { reviewed: number; good: number } }>('review.decide', { runId, resultIds: ids, decision: 'good' });
    expect(r.progress).toMatchObject({ reviewed: 5, good: 4 });
    expect(await images()).toHaveLength(5);
    const u = await call<{ batch: number; undone: unknown[] }>('review.undo', { runId });
    expect(u).toMatchObject({ batch: r.batch });
    expect(u.undone).toHaveLength(3);
    expect(await images()).toHaveLength(2);
  });

  it('never adds a picture twice: the same content in another run, or already imported, is relabelled', async () => {
    const again = makeRun([['p3.png', 1.2], ['p4.png', 2.4]]);
    const q = await call<ReviewQueue>('review.queue', { runId: again });
    const p3 = q.items.find((i) => i.path.endsWith('p3.png'))!;
    const r = await call<{ decided: { imageId: number; added: boolean }[] }>('review.decide', { runId: again, resultIds: [p3.id], decision: 'defect' });
    expect(r.decided[0]!.added).toBe(false);
    const all = await images();
    expect(all.filter((i) => i.path.endsWith('p3.png'))).toHaveLength(1);
    expect(all.find((i) => i.path.endsWith('p3.png'))!.label).toBe('defect');
    const count = (store.db.prepare(`SELECT count(*) AS n FROM images WHERE dataset_id = ? AND sha256 = ?`).get(datasetId, sha(join(photos, 'p3.png'))) as { n: number }).n;
    expect(count).toBe(1);
    // the audit log shows the relabelling too (a database trigger)
    expect((await h['audit.list']({ kinds: ['image.label'] })).rows[0]!.detail).toContain('label: good → defect');
    await call('review.undo', { runId: again });
    expect((await images()).find((i) => i.path.endsWith('p3.png'))!.label).toBe('good');
  });

  it('refuses a picture that changed since it was inspected, or is gone, and changes nothing', async () => {
    writeFileSync(join(photos, 'p4.png'), readFileSync(join(photos, 'p0.png')));
    await expect(call('review.decide', { runId, resultIds: [rid.get('p4.png')], decision: 'good' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('changed since it was inspected') });
    rmSync(join(photos, 'p4.png'));
    await expect(call('review.decide', { runId, resultIds: [rid.get('p4.png')], decision: 'defect' })).rejects.toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('Put the file back') });
    expect(await images()).toHaveLength(2);
    // a skip needs no file
    await call('review.decide', { runId, resultIds: [rid.get('p4.png')], decision: 'skip' });
    expect((await call<{ reviewed: number; skip: number }>('review.progress', { runId })).skip).toBe(1);
  });

  it('refuses results of another run, error results and bad decisions with the field named', async () => {
    const other = makeRun([['p0.png', 0.5]]);
    const q = await call<ReviewQueue>('review.queue', { runId: other });
    await expect(call('review.decide', { runId, resultIds: [q.items[0]!.id], decision: 'good' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(`run #${other}`) });
    const errorId = (store.db.prepare(`SELECT id FROM inspection_results WHERE run_id = ? AND verdict = 'error'`).get(runId) as { id: number }).id;
    await expect(call('review.decide', { runId, resultIds: [errorId], decision: 'good' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('could not be inspected') });
    expect(await dispatch(h, 'review.decide', { runId, resultIds: [1], decision: 'maybe' }, () => {})).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', subject: 'args.decision' } });
  });

  it('undo with nothing left to undo says so', async () => {
    const fresh = makeRun([['p5.png', 0.4]]);
    expect(await call('review.undo', { runId: fresh })).toMatchObject({ batch: null, undone: [] });
  });
});

describe('single images', () => {
  it('are kept in one "single images" run per model version, so they can be reviewed', async () => {
    const copy = join(photos, 'p0.png');
    const a = recordSingleInspection(store, { modelVersionId: modelId, threshold: 1, path: copy, sha256: sha(copy), score: 1.3, verdict: 'fail', heatmapFile: null });
    const b = recordSingleInspection(store, { modelVersionId: modelId, threshold: 1, path: join(photos, 'p2.png'), sha256: sha(join(photos, 'p2.png')), score: 0.3, verdict: 'pass', heatmapFile: null });
    expect(b).toBe(a);
    const runs = await h['inspection.listRuns']({ datasetId });
    expect(runs.find((r) => r.id === a)).toMatchObject({ source: 'single images', status: 'completed' });
    const q = await call<ReviewQueue>('review.queue', { runId: a });
    expect(q.items.map((i) => [i.score, i.group])).toEqual([[1.3, 'band'], [0.3, 'rest']]);
  });
});
