/**
 * Browser mode with the engine in a worker thread, for the service tests that train: a real
 * SQLite data folder, `bgad serve`'s HTTP server and the UI's API client with its session.
 * Needs the built engine worker (`npm run build`): `hasEngineWorker` says whether it is there.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiEvent } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { servicesForStore, lazyEngine } from '../../src-main/services';
import { EngineHost } from '../../src-main/engine/engine-host';
import { openStore } from '../../src-main/db/store';
import { generateSyntheticDataset } from '../../src-main/synth/generate';
import { createApiClient, httpTransport, type ApiClient } from '../../src-renderer/lib/api-client';
import { sessionCookie, sessionWebSocket } from '../api-host/browser-session';

export const hasEngineWorker = existsSync(join(process.cwd(), 'dist', 'engine', 'worker.js'));

export interface ServedEngine {
  api: ApiClient;
  store: ReturnType<typeof openStore>;
  running: Awaited<ReturnType<typeof startServe>>;
}

/** Opens a store in `dataDir` and serves it with the engine in a worker thread. */
export async function serveWithEngine(dataDir: string): Promise<ServedEngine> {
  const store = openStore({ dataDir });
  const running = await startServe({ appRoot: process.cwd(), services: servicesForStore(store, { engine: lazyEngine(() => EngineHost.workerThread()) }), out: () => {} });
  const base = `http://127.0.0.1:${running.server.port}`;
  const cookie = await sessionCookie(base, running.server.token);
  const api = createApiClient(httpTransport({ token: running.server.token, baseUrl: base, WebSocket: sessionWebSocket(base, cookie) }));
  return { api, store, running };
}

/** The job's final event (result or error); its events so far are pushed to `events` when given. */
export function jobEnd(api: ApiClient, jobId: string, events?: ApiEvent[]): Promise<ApiEvent> {
  return new Promise((ok) => {
    const off = api.onEvent((e) => {
      if (!('jobId' in e) || e.jobId !== jobId) return;
      events?.push(e);
      if (e.type === 'result' || e.type === 'error') {
        off();
        ok(e);
      }
    });
  });
}

export interface ServedCategory extends ServedEngine {
  /** The temp folder holding the data folder and the synthetic dataset. */
  dir: string;
  /** The synthetic category's folder (MVTec layout). */
  category: string;
  /** Stops the server and removes the temp folder. */
  cleanup(): Promise<void>;
}

/** A temp folder with one synthetic category (64 px) and browser mode with the engine on a data folder beside it. */
export async function servedSyntheticCategory(prefix: string, o: { seed: number; category: string }): Promise<ServedCategory> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const synth = await generateSyntheticDataset({ outDir: join(dir, 'synth'), seed: o.seed, sizePx: 64, categories: [o.category] });
  const served = await serveWithEngine(join(dir, 'data'));
  return {
    ...served, dir, category: synth.categories[0]!.dir,
    async cleanup() {
      await served.running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
