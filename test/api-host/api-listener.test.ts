/**
 * The desktop app's inference API (api-host/api-listener.ts) without Electron: the Settings
 * view's `app.setSettings({ apiEnabled, apiPort })` starts the loopback /v1 server on that port,
 * moves it, stops it; the port is kept in the settings file (the next start listens there
 * again); a port another program holds gives a clear error in the status (and the app goes
 * on); the server answers /v1 only, with the data folder's key, and refuses web pages and
 * foreign Host headers. Real HTTP on free loopback ports; in-memory services.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_PORT, type ApiHandlers, type DatasetSummary, type ModelVersion, type Settings } from '../../src-main/common/api';
import { createApiListener, type ApiListener } from '../../src-main/api-host/api-listener';
import { readApiKey } from '../../src-main/db/api-key';
import { JobHub, SettingsStore } from '../../src-main/services';
import { fakeServices } from './fake-services';

let root: string;
let dataDir: string;
let settingsFile: string;
let listener: ApiListener;
let h: ApiHandlers;
const held: Server[] = [];

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** Another program holding a port. */
async function holdPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  held.push(s);
  return (s.address() as { port: number }).port;
}

const health = (port: number, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/v1/health`, { headers: { authorization: `Bearer ${readApiKey(dataDir)!.key}`, ...headers } });

function host(): ApiHandlers {
  const model = { id: 5, number: 1, datasetId: 1, bundleFile: null, threshold: 0.5 } as unknown as ModelVersion;
  const services = fakeServices(dataDir, {
    'models.list': async () => [model],
    'inspection.inspectImage': async () => ({ path: null, score: 0.25, verdict: 'pass', threshold: 0.5, modelVersionId: 5, heatmapPath: join(dataDir, 'nowhere.png') }),
  });
  services.datasetsById.set(1, { id: 1, name: 'Tiles', activeModelVersionId: 5 } as DatasetSummary);
  const settings = new SettingsStore(settingsFile, { dataDir, executionProvider: 'cpu', threads: 0 });
  listener = createApiListener({ dataDir, version: '9.9.9', handlers: () => hosted.handlers, log: () => undefined });
  const hosted = services.host({ jobs: new JobHub(), settings, mode: 'electron', version: '9.9.9', canChangeDataDir: true, inferenceApi: listener });
  return hosted.handlers;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'bgad-api-listener-'));
  dataDir = join(root, 'data');
  settingsFile = join(root, 'settings.json');
});

afterEach(async () => {
  await listener?.close();
  for (const s of held.splice(0)) s.close();
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the desktop app's inference API", () => {
  it('is off until the setting is on, then answers /v1 on 127.0.0.1 at the port chosen, with the key', async () => {
    h = host();
    const before = await h['app.getSettings']({});
    expect(before.apiListener).toEqual({ state: 'off', port: 0 });
    expect(before.apiKey).toBeUndefined();
    const port = await freePort();
    const s = await h['app.setSettings']({ apiEnabled: true, apiPort: port });
    expect(s.apiListener).toEqual({ state: 'on', port, url: `http://127.0.0.1:${port}/v1/` });
    // the key was made when the API was switched on, and is shown in Settings
    expect(s.apiKey).toBe(readApiKey(dataDir)!.key);
    const r = await health(port);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, version: '9.9.9', models: [{ id: 5, dataset: { id: 1, name: 'Tiles' } }] });
    const inspected = await fetch(`http://127.0.0.1:${port}/v1/inspect`, { method: 'POST', body: new Uint8Array([1, 2, 3]), headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'image/png' } });
    expect(inspected.status).toBe(200);
    expect(await inspected.json()).toMatchObject({ score: 0.25, verdict: 'pass', threshold: 0.5, model: { id: 5 } });
    // no key, a wrong key
    expect((await fetch(`http://127.0.0.1:${port}/v1/health`)).status).toBe(401);
    expect((await health(port, { authorization: 'Bearer nope' })).status).toBe(401);
    // the port is kept: the next start listens there again
    expect(JSON.parse(readFileSync(settingsFile, 'utf8'))).toMatchObject({ apiEnabled: true, apiPort: port });
    expect((await new SettingsStore(settingsFile, { dataDir, executionProvider: 'cpu', threads: 0 }).get()).apiPort).toBe(port);
  });

  it('answers /v1 only, and refuses web pages and other Host names', async () => {
    h = host();
    const port = await freePort();
    await h['app.setSettings']({ apiEnabled: true, apiPort: port });
    const other = await fetch(`http://127.0.0.1:${port}/api/datasets.list`, { method: 'POST', body: '{}' });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(/only the inference API/);
    expect((await health(port, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await health(port, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const { request } = await import('node:http');
    const status = await new Promise<number>((ok, fail) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/health', headers: { host: `rebind.example:${port}`, authorization: `Bearer ${readApiKey(dataDir)!.key}` } }, (res) => {
        res.resume();
        ok(res.statusCode!);
      });
      req.on('error', fail);
      req.end();
    });
    expect(status).toBe(421);
  });

  it('moves to a new port and stops when switched off', async () => {
    h = host();
    const [a, b] = [await freePort(), await freePort()];
    await h['app.setSettings']({ apiEnabled: true, apiPort: a });
    expect((await health(a)).status).toBe(200);
    const moved = await h['app.setSettings']({ apiPort: b });
    expect(moved.apiListener).toMatchObject({ state: 'on', port: b });
    expect((await health(b)).status).toBe(200);
    await expect(health(a)).rejects.toThrow();
    const off = await h['app.setSettings']({ apiEnabled: false });
    expect(off.apiListener).toEqual({ state: 'off', port: b });
    await expect(health(b)).rejects.toThrow();
    // other settings leave the server alone
    const on = await h['app.setSettings']({ apiEnabled: true });
    expect(on.apiListener?.state).toBe('on');
    expect((await h['app.setSettings']({ threads: 2 })).apiListener).toEqual(on.apiListener);
  });

  it('says clearly when the port is taken, goes on without the API, and starts once another port is chosen', async () => {
    h = host();
    const taken = await holdPort();
    const s = await h['app.setSettings']({ apiEnabled: true, apiPort: taken });
    expect(s.apiListener).toMatchObject({ state: 'failed', port: taken });
    expect(s.apiListener!.error).toBe(`Port ${taken} on 127.0.0.1 is already in use, so the inference API is not running`);
    expect(s.apiListener!.hint).toMatch(/Choose another port for the inference API in Settings/);
    // the setting is saved all the same, and the rest of the app answers
    expect((await h['app.getSettings']({})).apiListener?.state).toBe('failed');
    const free = await freePort();
    expect((await h['app.setSettings']({ apiPort: free })).apiListener).toMatchObject({ state: 'on', port: free });
  });

  it('refuses a port the contract does not allow, naming the field', async () => {
    h = host();
    const { dispatch } = await import('../../src-main/api-host/dispatch');
    const r = await dispatch(h, 'app.setSettings', { apiPort: 80 }, () => undefined);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/apiPort/);
    expect(DEFAULT_API_PORT).toBeGreaterThanOrEqual(1024);
  });

  it('applies changes in the order they were asked, whatever their speed', async () => {
    h = host();
    const port = await freePort();
    const results = await Promise.all([listener.apply({ enabled: true, port }), listener.apply({ enabled: false, port }), listener.apply({ enabled: true, port })]);
    expect(results.map((r) => r.state)).toEqual(['on', 'off', 'on']);
    expect((await health(port)).status).toBe(200);
    const settings: Settings = await h['app.getSettings']({});
    expect(settings.apiListener).toMatchObject({ state: 'on', port });
  });
});
