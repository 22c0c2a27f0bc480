/**
 * The `station` group over real services on a temporary data folder, with a real station
 * (runStation: chokidar, ONNX Runtime, results.jsonl) on a temporary input folder: start, files
 * arrive, counters and the last results update, the results are stored as an inspection run, N
 * fails in a row raise the alarm (acknowledged, raised again), one station at a time, stop, a
 * shift's report by time range, and the station stopped cleanly when the services close.
 * The station runs in its worker thread (dist/engine/station-worker.js, built when missing).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandlers, ModelVersion, StationStatus } from '../../src-main/common/api';
import { isAppError } from '../../src-main/common/errors';
import { getStationRun, listInspectionResults } from '../../src-main/db/inspections';
import { parseCsv } from '../../src-main/reports/csv';
import { createModelVersion } from '../../src-main/db/model-versions';
import { openStore, type Store } from '../../src-main/db/store';
import { JobHub, SettingsStore, servicesForStore, type HostedServices } from '../../src-main/services';
import { defaultStationOut } from '../../src-main/services/station';
import { ensureStationWorker, getFixture, removeDir, tempDir, waitFor, type Fixture } from '../station/helpers';

let fx: Fixture;
let dir: string;
let store: Store;
let services: HostedServices;
let h: ApiHandlers;
let model: ModelVersion;
/** The same bundle with a threshold below every score: every image fails. */
let strict: ModelVersion;

function addModel(datasetId: number, name: string, threshold: number): ModelVersion {
  mkdirSync(join(store.layout.root, 'bundles'), { recursive: true });
  copyFileSync(fx.modelPath, join(store.layout.root, 'bundles', name));
  const b = fx.bundle.meta.backbone;
  return createModelVersion(store, { datasetId, backboneId: b.id, backboneHash: b.sha256, bundleFile: `bundles/${name}`, threshold });
}

const good = (i: number) => join(fx.testDir, 'good', `${String(i).padStart(3, '0')}.png`);
const defect = (type: string, i: number) => join(fx.testDir, type, `${String(i).padStart(3, '0')}.png`);

async function statusWhen(cond: (s: StationStatus) => boolean, what: string): Promise<StationStatus> {
  let last: StationStatus | null = null;
  await waitFor(async () => {
    last = await h['station.status']({});
    return last !== null && cond(last);
  }, what, 60_000);
  return last!;
}

async function expectError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(isAppError(e), String(e)).toBe(true);
  expect(e).toMatchObject({ code });
  expect((e as Error).message).toMatch(message);
}

beforeAll(async () => {
  ensureStationWorker();
  fx = await getFixture();
  dir = tempDir('bgad-station-services-');
  store = openStore({ dataDir: join(dir, 'data') });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  services = servicesForStore(store, { heartbeatMs: 200 }).host({ jobs: new JobHub(), settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  h = services.handlers;
  const ds = await h['datasets.create']({ name: 'Stripes' });
  model = addModel(ds.id, 'stripes.bgad', fx.bundle.meta.threshold);
  strict = addModel(ds.id, 'stripes-strict.bgad', -1e6);
}, 600_000);

afterAll(async () => {
  await services?.close();
  removeDir(dir);
});

describe('station services', () => {
  let runId: number;
  let stationId: string;
  const input = () => join(dir, 'camera');

  it('refuses a missing folder or model before anything starts', async () => {
    mkdirSync(input(), { recursive: true });
    await expectError(h['station.start']({ modelId: model.id, input: join(dir, 'nowhere') }), 'NOT_FOUND', /input folder .*nowhere does not exist/);
    await expectError(h['station.start']({ modelId: 999, input: input() }), 'NOT_FOUND', /999/);
    await expectError(h['station.start']({ modelId: model.id, input: input(), webhook: 'ftp://x' }), 'BAD_ARGUMENT', /./);
    expect(await h['station.status']({})).toBeNull();
    expect(await h['station.runs']({})).toEqual([]);
  });

  it('starts, inspects the files as they arrive and stores them as an inspection run', async () => {
    const started = await h['station.start']({ modelId: model.id, input: input(), settleMs: 150, alarmAfterFails: 3 });
    ({ runId, stationId } = started);
    const s0 = await h['station.status']({});
    expect(s0).toMatchObject({ stationId, runId, state: 'running', input: input(), out: defaultStationOut(store.layout.root, input()), alarm: null, counts: { total: 0 } });
    expect((await h['inspection.getRun']({ runId })).status).toBe('running');
    // one station at a time
    await expectError(h['station.start']({ modelId: model.id, input: input() }), 'CONFLICT', /already running/);

    copyFileSync(good(0), join(input(), 'g0.png'));
    copyFileSync(good(1), join(input(), 'g1.png'));
    copyFileSync(defect('scratch', 0), join(input(), 'd0.png'));
    const s = await statusWhen((x) => x.counts.total === 3, 'three results');
    expect(s.counts.pass + s.counts.fail).toBe(3);
    expect(s.yield).toBeCloseTo(s.counts.pass / 3, 6);
    expect(s.last).toHaveLength(3);
    expect(s.scores).toHaveLength(3);
    for (const r of s.last) {
      expect(r.verdict).not.toBe('error');
      expect(existsSync(r.imagePath!)).toBe(true);
      expect(existsSync(r.heatmapPath!)).toBe(true);
      expect(existsSync(r.overlayPath!)).toBe(true);
    }
    // the heat maps lie in the data folder (the default output): the UI may show them
    expect(s.last[0]!.heatmapPath!.startsWith(store.layout.root)).toBe(true);
    // the rows of the run, as the Inspect view reads them
    await waitFor(() => listInspectionResults(store, { runId }).total === 3, 'three stored results');
    const rows = await h['inspection.results']({ runId });
    expect(rows.items.map((r) => r.path).sort()).toEqual(['d0.png', 'g0.png', 'g1.png'].map((n) => join(input(), n)));
    expect(rows.items.every((r) => r.heatmapPath && existsSync(r.heatmapPath))).toBe(true);
    expect(getStationRun(store, runId)).toMatchObject({ input: input(), moveTo: null });
    // the output folder holds what `bgad watch` writes
    expect(readFileSync(join(s.out, 'results.jsonl'), 'utf8')).toContain('"command":"bgad watch"');
    expect(existsSync(join(s.out, 'results.csv'))).toBe(true);
  }, 120_000);

  it('stops cleanly: the run is completed and the last state stays on show', async () => {
    expect(await h['station.stop']({ stationId })).toEqual({ stopped: true });
    const s = await h['station.status']({});
    expect(s).toMatchObject({ stationId, state: 'stopped', counts: { total: 3 } });
    expect(s!.stoppedAtMs).not.toBeNull();
    expect((await h['inspection.getRun']({ runId })).status).toBe('completed');
    expect(await h['station.stop']({ stationId })).toEqual({ stopped: false });
    await expectError(h['station.stop']({ stationId: 'st-nope' }), 'NOT_FOUND', /no station st-nope/);
    const runs = await h['station.runs']({});
    expect(runs.map((r) => r.id)).toEqual([runId]);
  });

  it('writes a PDF and a CSV report of the run, and of a time range of it', async () => {
    const rows = (await h['inspection.results']({ runId, orderBy: 'id' })).items;
    const pdf = await h['inspection.exportReport']({ runId, format: 'pdf', outPath: join(dir, 'shift') });
    expect(pdf.path).toBe(join(dir, 'shift.pdf'));
    expect(readFileSync(pdf.path).subarray(0, 5).toString()).toBe('%PDF-');
    const all = await h['inspection.exportReport']({ runId, format: 'csv', outPath: join(dir, 'all.csv') });
    expect(readFileSync(all.path, 'utf8').trim().split(/\r\n/)).toHaveLength(1 + 3);
    // every row carries its inspection time (local ISO 8601 with the offset, and epoch ms), so a shift can be filtered
    const [head, ...body] = parseCsv(readFileSync(all.path, 'utf8'));
    expect(head!.slice(-2)).toEqual(['inspected_at', 'inspected_at_ms']);
    const byName = new Map(rows.map((r) => [r.path.split(/[\\/]/).at(-1)!, r.createdAtMs]));
    for (const cells of body) {
      const ms = byName.get(cells[0]!.split('/').at(-1)!);
      expect(ms, cells[0]).toBeDefined();
      expect(cells.at(-1)).toBe(String(ms));
      expect(cells.at(-2)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
      expect(Date.parse(cells.at(-2)!)).toBe(ms);
    }
    // a range holding only the newest result
    const last = rows.at(-1)!;
    const part = await h['inspection.exportReport']({ runId, format: 'csv', outPath: join(dir, 'part.csv'), fromMs: last.createdAtMs, toMs: last.createdAtMs });
    const lines = readFileSync(part.path, 'utf8').trim().split(/\r\n/);
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(lines.join('\n')).toContain(last.path.split('/').at(-1)!);
    const none = await h['inspection.exportReport']({ runId, format: 'csv', outPath: join(dir, 'none.csv'), fromMs: 1, toMs: 2 });
    expect(readFileSync(none.path, 'utf8').trim().split(/\r\n/)).toHaveLength(1);
    await expectError(h['inspection.exportReport']({ runId, format: 'csv', outPath: join(dir, 'none.csv'), fromMs: 1, toMs: 2 }), 'CONFLICT', /already exists/);
    await expectError(h['inspection.exportReport']({ runId, format: 'pdf', outPath: join(dir, 'x.pdf'), fromMs: 5, toMs: 2 }), 'BAD_ARGUMENT', /ends before it starts/);
    // nothing is left behind in the data folder
    expect(readdirSync(join(store.layout.root, 'inspections', String(runId), 'exports'))).toEqual([]);
  }, 60_000);

  it('raises the alarm after N fails in a row, lowers it on acknowledgement and raises it after N more', async () => {
    const cam = join(dir, 'camera-2');
    mkdirSync(cam);
    const started = await h['station.start']({ modelId: strict.id, input: cam, settleMs: 100, alarmAfterFails: 3, out: join(dir, 'out-2'), moveTo: join(dir, 'done-2') });
    expect(started.runId).not.toBe(runId);
    let n = 0;
    const drop = (src: string) => copyFileSync(src, join(cam, `f${String(n++).padStart(2, '0')}.png`));
    drop(defect('scratch', 1));
    drop(defect('spot', 1));
    let s = await statusWhen((x) => x.counts.total === 2, 'two results');
    expect(s.consecutiveFails).toBe(2);
    expect(s.alarm).toBeNull();
    drop(defect('missing', 1));
    s = await statusWhen((x) => x.counts.total === 3, 'three results');
    expect(s.counts.fail).toBe(3);
    expect(s.alarm).toMatchObject({ fails: 3 });
    // moved out of the camera folder by verdict; the output folder is outside the data folder and may be shown
    expect(s.last[0]!.movedTo).toMatch(/done-2[\\/]fail[\\/]f\d\d\.png$/);
    expect(services.fileRoots()).toEqual(expect.arrayContaining([join(dir, 'out-2'), join(dir, 'done-2')]));
    expect(s.last[0]!.heatmapPath!.startsWith(join(dir, 'out-2'))).toBe(true);

    const acked = await h['station.acknowledgeAlarm']({ stationId: started.stationId });
    expect(acked.alarm).toBeNull();
    expect(acked.consecutiveFails).toBe(3);
    drop(defect('scratch', 2));
    drop(defect('spot', 2));
    s = await statusWhen((x) => x.counts.total === 5, 'five results');
    expect(s.alarm).toBeNull();
    drop(defect('missing', 2));
    s = await statusWhen((x) => x.counts.total === 6, 'six results');
    expect(s.alarm).toMatchObject({ fails: 6 });
    expect(s.scores.map((x) => x.verdict)).toEqual(Array(6).fill('fail'));
  }, 120_000);

  it('keeps running for whoever asks again (a reloaded page), and stops when the services close', async () => {
    const s = await h['station.status']({});
    expect(s?.state).toBe('running');
    // stored without heat maps in the database (outside the data folder), still reported with its pictures
    const rows = (await h['inspection.results']({ runId: s!.runId })).items;
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.heatmapPath === null)).toBe(true);
    const pdf = await h['inspection.exportReport']({ runId: s!.runId, format: 'pdf', outPath: join(dir, 'strict.pdf') });
    // the thumbnails and overlays of the output folder are in it
    expect(readFileSync(pdf.path).toString('latin1').match(/\/Subtype \/Image/g)?.length ?? 0).toBeGreaterThanOrEqual(12);
    await services.close();
    const reopened = openStore({ dataDir: store.layout.root });
    try {
      const run = listInspectionResults(reopened, { runId: s!.runId });
      expect(run.total).toBe(6);
      expect(getStationRun(reopened, s!.runId)?.status).toBe('completed');
    } finally {
      reopened.close();
    }
    services = undefined as unknown as HostedServices;
  }, 60_000);
});
