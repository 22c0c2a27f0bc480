/** The contract's handlers as the services compose them, over a real data folder; jobs over the fake import. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { methods, type ApiEvent } from '../../src-main/common/api';
import type { EngineRunner } from '../../src-main/common/engine-jobs';
import { dispatch } from '../../src-main/api-host/dispatch';
import { openStore } from '../../src-main/db/store';
import { createApiHandlers, JobHub, SettingsStore, unavailableMethods } from '../../src-main/services';
import { fakeServices } from '../api-host/fake-services';

const dir = mkdtempSync(join(tmpdir(), 'bgad-handlers-'));
const store = openStore({ dataDir: join(dir, 'data') });
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function setup(engine?: EngineRunner) {
  const jobs = new JobHub({ progressIntervalMs: 0 });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  const handlers = createApiHandlers({ store, dataDir: store.layout.root, engine, jobs, settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  return { jobs, handlers };
}

/** The fake services' handlers (an import job that ticks, '/slow' never ends). */
function fakeSetup() {
  const jobs = new JobHub({ progressIntervalMs: 0 });
  const settings = new SettingsStore(join(dir, 'fake-settings.json'), { dataDir: dir, executionProvider: 'cpu', threads: 0 });
  const { handlers } = fakeServices(dir).host({ jobs, settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  return { jobs, handlers };
}

describe('API handlers', () => {
  it('implements every method of the contract and nothing else', () => {
    const { handlers } = setup();
    expect(Object.keys(handlers).sort()).toEqual(methods.map((m) => m.id).sort());
  });

  it('answers the native pickers in browser mode with UNAVAILABLE and what to do instead', async () => {
    const { handlers } = setup();
    for (const [m, args] of [['app.pickFile', { extensions: ['png'] }], ['app.pickFolder', {}], ['app.pickSaveFile', {}]] as const) {
      expect(await dispatch(handlers, m, args)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', hint: expect.stringContaining('Type the path') } });
    }
    expect(await dispatch(handlers, 'app.pickFile', { extensions: ['../png'] })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
  });

  it('passes the delete confirmation to the data layer, which refuses a mismatch', async () => {
    const { handlers } = setup();
    const created = (await dispatch(handlers, 'datasets.create', { name: 'Tiles' })) as { ok: true; value: { id: number } };
    const datasetId = created.value.id;
    expect((await dispatch(handlers, 'datasets.delete', { datasetId, confirmName: 'tiles' })).ok).toBe(false);
    expect(await handlers['datasets.list']({})).toHaveLength(1);
    expect(await dispatch(handlers, 'datasets.delete', { datasetId, confirmName: 'Tiles' })).toEqual({ ok: true, value: { deletedImages: 0 } });
    expect(await handlers['datasets.list']({})).toHaveLength(0);
  });

  it('refuses a mask whose pixels do not fit its size', async () => {
    const { handlers } = setup();
    const r = await dispatch(handlers, 'masks.save', { imageId: 1, defectTypeId: 1, width: 3, height: 2, data: new Uint8Array(5) });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT', subject: 'args.data' } });
  });

  it('answers the engine-backed methods with UNAVAILABLE without an engine, and lists them', async () => {
    const { handlers, jobs } = setup();
    expect(await dispatch(handlers, 'training.start', { datasetId: 1, preset: 'fast', backboneId: 'mobilenetv2' })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', hint: expect.any(String) } });
    expect(await dispatch(handlers, 'inspection.inspectImage', { modelId: 1, path: '/x.png' })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(jobs.list()).toHaveLength(0);
    const missing = unavailableMethods({});
    expect(missing).toEqual(['training.start', 'models.export', 'models.robustness', 'inspection.inspectImage', 'inspection.startBatch', 'review.retrain']);
    expect(unavailableMethods({ engine: { run: async () => undefined as never, dispose: async () => undefined } })).toEqual([]);
  });

  it('keeps the data folder of a running server and stores other settings', async () => {
    const { handlers } = setup();
    expect(await dispatch(handlers, 'app.setSettings', { dataDir: '/elsewhere' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(handlers, 'app.setSettings', { threads: 2, executionProvider: 'cpu' })).toMatchObject({ ok: true, value: { threads: 2 } });
    expect(await dispatch(handlers, 'app.getSettings', {})).toMatchObject({ ok: true, value: { threads: 2, dataDir: store.layout.root } });
  });
});

describe('jobs', () => {
  it('runs a job with progress events and cancels it on request', async () => {
    const { handlers, jobs } = fakeSetup();
    await dispatch(handlers, 'datasets.create', { name: 'A' });
    const events: ApiEvent[] = [];
    jobs.subscribe((e) => events.push(e));
    const r = (await dispatch(handlers, 'datasets.importFolder', { datasetId: 1, folder: '/slow' })) as { ok: true; value: { jobId: string } };
    expect(r.ok).toBe(true);
    await new Promise((ok) => setTimeout(ok, 40));
    expect(await dispatch(handlers, 'jobs.cancel', { jobId: r.value.jobId })).toEqual({ ok: true, value: { cancelled: true } });
    await new Promise((ok) => setTimeout(ok, 40));
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'error', jobId: r.value.jobId, error: { code: 'CANCELLED' } });
    expect(jobs.get(r.value.jobId).status).toBe('cancelled');
    expect(await dispatch(handlers, 'jobs.cancel', { jobId: r.value.jobId })).toEqual({ ok: true, value: { cancelled: false } });
  });

  it('does not register a job whose start fails', async () => {
    const { handlers, jobs } = fakeSetup();
    const r = await dispatch(handlers, 'datasets.importFolder', { datasetId: 99, folder: '/x' });
    expect(r).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(jobs.list()).toHaveLength(0);
  });
});
