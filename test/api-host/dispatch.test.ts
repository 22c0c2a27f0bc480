import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dispatch } from '../../src-main/api-host/dispatch';
import { JobHub, SettingsStore } from '../../src-main/services';
import { fakeServices } from './fake-services';

const dir = mkdtempSync(join(tmpdir(), 'bgad-dispatch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  const services = fakeServices(dir);
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: dir, executionProvider: 'cpu', threads: 0 });
  const { handlers } = services.host({ jobs: new JobHub({ progressIntervalMs: 0 }), settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  return { services, handlers };
}

describe('dispatch', () => {
  it('validates arguments before any handler runs', async () => {
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

  it('answers undefined as null', async () => {
    const { handlers } = setup();
    handlers['datasets.list'] = async () => undefined as never;
    expect(await dispatch(handlers, 'datasets.list', {})).toEqual({ ok: true, value: null });
  });
});
