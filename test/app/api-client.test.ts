import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipcChannel, methods, type ApiEvent } from '../../src-main/common/api';
import { createIpcHandler, makeSenderCheck } from '../../src-main/app/ipc';
import { buildPreloadApi } from '../../src-main/preload/bridge';
import { startServe } from '../../src-main/api-host/serve';
import { JobHub, SettingsStore } from '../../src-main/services';
import { ApiError, createApiClient, httpTransport, ipcTransport, takeToken, type ApiClient, type WebSocketLike } from '../../src-renderer/lib/api-client';
import { fakeServices } from '../api-host/fake-services';
import { sessionCookie, sessionWebSocket } from '../api-host/browser-session';

let dir: string;
let running: Awaited<ReturnType<typeof startServe>>;
let browser: ApiClient;
let cookie: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-client-'));
  mkdirSync(join(dir, 'data', 'heatmaps'), { recursive: true });
  writeFileSync(join(dir, 'data', 'heatmaps', 'h.png'), 'png!');
  running = await startServe({ appRoot: dir, services: fakeServices(join(dir, 'data')), out: () => {} });
  // as in a browser: the page load with the token starts the session that images and events use
  const base = `http://127.0.0.1:${running.server.port}`;
  cookie = (await sessionCookie(base, running.server.token))!;
  browser = createApiClient(httpTransport({ token: running.server.token, baseUrl: base, WebSocket: sessionWebSocket(base, cookie) }));
});
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('renderer API client over HTTP (browser mode)', () => {
  it('has one function per contract method', () => {
    for (const m of methods) expect(typeof (browser as unknown as Record<string, Record<string, unknown>>)[m.group]![m.name]).toBe('function');
  });

  it('calls methods and returns typed values', async () => {
    const d = await browser.datasets.create({ name: 'Tiles' });
    expect(d.name).toBe('Tiles');
    expect((await browser.datasets.list()).map((x) => x.name)).toEqual(['Tiles']);
    expect((await browser.app.info()).mode).toBe('browser');
  });

  it('throws ApiError with the code, message and hint', async () => {
    const e = await browser.datasets.rename({ datasetId: 0, name: 'x' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ code: 'BAD_ARGUMENT' });
    const u = await browser.training.listRuns({ datasetId: 1 }).catch((x: unknown) => x);
    expect(u).toMatchObject({ code: 'UNAVAILABLE', hint: expect.any(String) });
  });

  it('moves mask pixels both ways and reads null as null', async () => {
    const m = await browser.masks.get({ imageId: 1, defectTypeId: 1 });
    expect(m?.data).toBeInstanceOf(Uint8Array);
    expect([...(m?.data ?? [])]).toEqual([0, 1, 1, 0, 0, 1]);
    expect(await browser.masks.get({ imageId: 2, defectTypeId: 1 })).toBeNull();
    expect(await browser.masks.save({ imageId: 1, defectTypeId: 1, width: 5, height: 2, data: new Uint8Array(10).fill(1) })).toMatchObject({ areaPx: 10 });
    expect(await browser.masks.save({ imageId: 1, defectTypeId: 1, width: 5, height: 2, data: new Uint8Array(10) })).toBeNull();
  });

  it('builds file URLs without the token that the server serves with the session cookie', async () => {
    const url = browser.fileUrl(join(dir, 'data', 'heatmaps', 'h.png'));
    expect(url).not.toContain(running.server.token);
    expect(url).not.toContain('token');
    const res = await fetch(url, { headers: { cookie } });
    expect(await res.text()).toBe('png!');
    expect((await fetch(url)).status).toBe(401);
  });

  it('opens the event socket without the token in its address', () => {
    const opened: string[] = [];
    const Recorder = class {
      onopen = null;
      onmessage = null;
      onclose = null;
      onerror = null;
      constructor(url: string) {
        opened.push(url);
      }
      close() {}
    };
    const client = httpTransport({ token: 'secret-token', baseUrl: 'http://127.0.0.1:5', WebSocket: Recorder as unknown as new (url: string) => WebSocketLike });
    const off = client.onEvent(() => undefined);
    off();
    expect(opened).toEqual(['ws://127.0.0.1:5/api/events']);
  });

  it('delivers job events to subscribers', async () => {
    const events: ApiEvent[] = [];
    const done = new Promise<void>((ok) => {
      const off = browser.onEvent((e) => {
        events.push(e);
        if (e.type === 'result') {
          off();
          ok();
        }
      });
    });
    await new Promise((ok) => setTimeout(ok, 100)); // socket open
    const { jobId } = await browser.datasets.importFolder({ datasetId: 1, folder: '/photos' });
    await done;
    expect(events.at(-1)).toMatchObject({ type: 'result', jobId });
  });

  it('reports an unreachable server as UNAVAILABLE', async () => {
    const dead = createApiClient(httpTransport({ token: 't', baseUrl: 'http://127.0.0.1:9' }));
    await expect(dead.datasets.list()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('renderer API client over IPC (desktop app)', () => {
  it('goes through the preload bridge and the IPC checkpoint', async () => {
    const jobs = new JobHub();
    const { handlers } = fakeServices(dir).host({ jobs, settings: new SettingsStore(join(dir, 's.json'), { dataDir: dir, executionProvider: 'cpu', threads: 0 }), mode: 'electron', version: '1', canChangeDataDir: true });
    const frame = { url: 'bgad://app/index.html' };
    const event = { sender: { id: 1, mainFrame: frame }, senderFrame: frame };
    const table = new Map(methods.map((m) => [ipcChannel(m.id), createIpcHandler(m.id, handlers, makeSenderCheck(() => [1]), () => {})]));
    const preload = buildPreloadApi({ invoke: (channel, ...args) => table.get(channel)!(event, ...args), on: () => undefined, removeListener: () => undefined });
    const api = createApiClient(ipcTransport(preload));
    expect(api.mode).toBe('electron');
    expect((await api.datasets.create({ name: 'A' })).id).toBe(1);
    await expect(api.datasets.create({ name: '' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(api.fileUrl('/x/y.png')).toBe('/files?path=%2Fx%2Fy.png');
  });
});

describe('token from the page address', () => {
  it('keeps the token for the tab and removes it from the address bar', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    let replaced = '';
    expect(takeToken({ href: 'http://127.0.0.1:5/?token=abc#x' }, storage, (u) => (replaced = u))).toBe('abc');
    expect(replaced).toBe('/#x');
    expect(takeToken({ href: 'http://127.0.0.1:5/' }, storage, () => {})).toBe('abc');
    expect(takeToken({ href: 'http://127.0.0.1:5/' }, { getItem: () => null, setItem: () => {} }, () => {})).toBeNull();
  });
});
