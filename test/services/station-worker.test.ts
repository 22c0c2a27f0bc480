/**
 * The app's station runs in a worker thread (src-main/station/worker.ts): while it inspects a
 * burst of images, the services' event loop (the HTTP server, the desktop app's main process)
 * keeps ticking. On this thread each image's inference would hold the loop for as long as the
 * scorer runs; the per-image inference time is measured in the same test (the fixture model
 * scoring on this thread), so a loaded machine (slower inference, later ticks) moves both alike.
 * Needs the built station worker (dist/engine/station-worker.js): built here when missing.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandlers, ModelVersion, StationStatus } from '../../src-main/common/api';
import { createModelVersion } from '../../src-main/db/model-versions';
import { openStore, type Store } from '../../src-main/db/store';
import { loadImageTensor } from '../../src-main/images/load';
import { openInspectionModel } from '../../src-main/model/scorer';
import { JobHub, SettingsStore, servicesForStore, type HostedServices } from '../../src-main/services';
import { distinctPngs, ensureStationWorker, getFixture, removeDir, tempDir, waitFor, writeFiles, type Fixture } from '../station/helpers';

const IMAGES = 12;

let fx: Fixture;
let dir: string;
let store: Store;
let services: HostedServices;
let h: ApiHandlers;
let model: ModelVersion;

beforeAll(async () => {
  ensureStationWorker();
  fx = await getFixture();
  dir = tempDir('bgad-station-worker-');
  store = openStore({ dataDir: join(dir, 'data') });
  const settings = new SettingsStore(join(dir, 'settings.json'), { dataDir: store.layout.root, executionProvider: 'cpu', threads: 0 });
  services = servicesForStore(store, { heartbeatMs: 200 }).host({ jobs: new JobHub(), settings, mode: 'browser', version: '1.0.0', canChangeDataDir: false });
  h = services.handlers;
  const ds = await h['datasets.create']({ name: 'Stripes' });
  mkdirSync(join(store.layout.root, 'bundles'), { recursive: true });
  copyFileSync(fx.modelPath, join(store.layout.root, 'bundles', 'stripes.bgad'));
  const b = fx.bundle.meta.backbone;
  model = createModelVersion(store, { datasetId: ds.id, backboneId: b.id, backboneHash: b.sha256, bundleFile: 'bundles/stripes.bgad', threshold: fx.bundle.meta.threshold });
}, 600_000);

afterAll(async () => {
  await services?.close();
  removeDir(dir);
});

/** The median time the fixture model takes to score one image on this thread (what the station's loop would block for). */
async function inferenceMs(): Promise<number> {
  const m = await openInspectionModel(fx.modelPath, { cacheDir: store.layout.root, threads: 1 });
  try {
    const good = join(fx.testDir, 'good');
    const img = await loadImageTensor(join(good, readdirSync(good).sort()[0]!), m.input);
    await m.score(img.chw, 1); // the first run allocates
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      await m.score(img.chw, 1);
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[3]!;
  } finally {
    await m.dispose();
  }
}

describe('the station in its worker thread', () => {
  it('keeps the services\' event loop responsive while it inspects a burst of images', async () => {
    const input = join(dir, 'camera');
    mkdirSync(input, { recursive: true });
    const started = await h['station.start']({ modelId: model.id, input, settleMs: 100 });
    const inferMs = await inferenceMs();
    const files = await distinctPngs(join(fx.testDir, 'good', '000.png'), IMAGES, 'burst');

    const lags: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lags.push(now - last - 5);
      last = now;
    }, 5);
    const t0 = performance.now();
    writeFiles(input, files);
    let s: StationStatus | null = null;
    await waitFor(async () => {
      s = await h['station.status']({});
      return s?.counts.total === IMAGES;
    }, `${IMAGES} results`, 120_000, 20);
    const burstMs = performance.now() - t0;
    clearInterval(timer);
    await h['station.stop']({ stationId: started.stationId });

    expect(s!.counts.pass + s!.counts.fail).toBe(IMAGES);
    expect(inferMs).toBeGreaterThan(0);
    // on this thread every image held the loop for at least its inference (IMAGES stalls that
    // long, measured: 12 of 12); in the worker only an odd GC pause or a busy machine (2 cores
    // shared with the worker's inference and sharp) delays a tick that much
    const stalls = lags.filter((l) => l > 0.8 * inferMs);
    const worst = Math.max(...lags);
    console.log(`station burst: ${IMAGES} images in ${burstMs.toFixed(0)} ms, inference ${inferMs.toFixed(1)} ms/image, worst tick lag ${worst.toFixed(1)} ms, ${stalls.length} over 80 % of the inference`);
    expect(stalls.length, `inference ${inferMs.toFixed(1)} ms, lags over 80 % of it: ${stalls.map((l) => l.toFixed(0)).join(', ')}`).toBeLessThanOrEqual(IMAGES / 4);
  }, 180_000);
});
