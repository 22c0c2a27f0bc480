import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { methods, type ApiEvent } from '../../src-main/common/api';
import { createApiHandlers, dispatch, unavailableMethods } from '../../src-main/api-host/api-handlers';
import { JobHub } from '../../src-main/api-host/jobs';
import { SettingsStore } from '../../src-main/api-host/settings-store';
import { fakeServices } from './fake-services';

const dir = mkdtempSync(join(tmpdir(), 'bgad-handlers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  const services = fakeServices(dir);
  const jobs = new JobHub({ progressIntervalMs: 0 });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: dir, executionProvider: 'cpu', threads: 0 });
  const handlers = createApiHandlers({ services, jobs, settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  return { services, jobs, handlers };
}

describe('API handlers', () => {
  it('implements every method of the contract and nothing else', () => {
    const { handlers } = setup();
    expect(Object.keys(handlers).sort()).toEqual(methods.map((m) => m.id).sort());
  });

  it('validates arguments before any service runs', async () => {
    const { handlers, services } = setup();
    const bad = await dispatch(handlers, 'datasets.create', { name: '' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(services.datasetsById.size).toBe(0);
    expect(await dispatch(handlers, 'images.setLabel', { imageIds: [0], label: 'good' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(handlers, 'images.setLabel', { imageIds: [1], label: 'broken' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(handlers, 'datasets.list', [])).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(handlers, 'defectTypes.setColour', { defectTypeId: 1, colour: 'red' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(handlers, 'toString', {})).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await dispatch(handlers, '__proto__', {})).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('answers the native pickers in browser mode with UNAVAILABLE and what to do instead', async () => {
    const { handlers } = setup();
    for (const [m, args] of [['app.pickFile', { extensions: ['png'] }], ['app.pickFolder', {}], ['app.pickSaveFile', {}]] as const) {
      expect(await dispatch(handlers, m, args)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', hint: expect.stringContaining('Type the path') } });
    }
    expect(await dispatch(handlers, 'app.pickFile', { extensions: ['../png'] })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
  });

  it('passes the delete confirmation to the service, which refuses a mismatch', async () => {
    const { handlers, services } = setup();
    await dispatch(handlers, 'datasets.create', { name: 'Tiles' });
    expect(await dispatch(handlers, 'datasets.delete', { datasetId: 1, confirmName: 'tiles' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(services.datasetsById.size).toBe(1);
    expect(await dispatch(handlers, 'datasets.delete', { datasetId: 1, confirmName: 'Tiles' })).toEqual({ ok: true, value: { deletedImages: 0 } });
    expect(services.datasetsById.size).toBe(0);
  });

  it('turns a bug into an INTERNAL error, logged once', async () => {
    const logs: string[] = [];
    const { handlers } = setup();
    handlers['datasets.list'] = async () => {
      throw new TypeError('boom');
    };
    const r = await dispatch(handlers, 'datasets.list', {}, (m) => logs.push(m));
    expect(r).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'boom' } });
    expect(logs).toHaveLength(1);
  });

  it('runs a job with progress events and cancels it on request', async () => {
    const { handlers, jobs } = setup();
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
    const { handlers, jobs } = setup();
    const r = await dispatch(handlers, 'datasets.importFolder', { datasetId: 99, folder: '/x' });
    expect(r).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(jobs.list()).toHaveLength(0);
  });

  it('keeps the data folder of a running server and stores other settings', async () => {
    const { handlers } = setup();
    expect(await dispatch(handlers, 'app.setSettings', { dataDir: '/elsewhere' })).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(await dispatch(handlers, 'app.setSettings', { threads: 2, executionProvider: 'cpu' })).toMatchObject({ ok: true, value: { threads: 2 } });
    expect(await dispatch(handlers, 'app.getSettings', {})).toMatchObject({ ok: true, value: { threads: 2, dataDir: dir } });
  });

  it('lists the methods whose services are missing', () => {
    const missing = unavailableMethods(fakeServices(dir));
    expect(missing).toContain('training.start');
    expect(missing).not.toContain('datasets.list');
    expect(missing).not.toContain('datasets.importFolder');
    expect(missing).not.toContain('app.info');
  });
});
