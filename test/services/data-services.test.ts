/** Browser mode over the real data layer: import, list, label, masks and files, end to end. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, ImportSummary } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { servicesForStore } from '../../src-main/services';
import { openStore } from '../../src-main/db/store';
import { ApiError, createApiClient, httpTransport, type ApiClient } from '../../src-renderer/lib/api-client';
import { sessionCookie, sessionWebSocket } from '../api-host/browser-session';

let dir: string;
let running: Awaited<ReturnType<typeof startServe>>;
let api: ApiClient;
let cookieHeader = '';
/** An image request as the page makes it: the browser adds the session cookie. */
const get = (url: string) => fetch(url, { headers: { cookie: cookieHeader } });
const category = () => join(dir, 'photos', 'widget');

async function png(path: string, width: number, height: number, fill: (i: number) => number): Promise<void> {
  const px = Uint8Array.from({ length: width * height }, (_, i) => fill(i));
  await sharp(px, { raw: { width, height, channels: 1 } }).png().toFile(path);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-data-api-'));
  for (const d of ['train/good', 'test/good', 'test/crack', 'ground_truth/crack']) mkdirSync(join(category(), d), { recursive: true });
  for (let k = 0; k < 3; k++) await png(join(category(), 'train', 'good', `00${k}.png`), 8, 6, (i) => (i * 7 + k * 31) & 255);
  await png(join(category(), 'test', 'good', '000.png'), 8, 6, (i) => (i * 11) & 255);
  await png(join(category(), 'test', 'crack', '000.png'), 8, 6, (i) => (i * 13 + 5) & 255);
  await png(join(category(), 'ground_truth', 'crack', '000_mask.png'), 8, 6, (i) => (i % 8 < 2 ? 255 : 0));
  const store = openStore({ dataDir: join(dir, 'data') });
  running = await startServe({ appRoot: dir, services: servicesForStore(store), out: () => {} });
  const base = `http://127.0.0.1:${running.server.port}`;
  const cookie = await sessionCookie(base, running.server.token);
  api = createApiClient(httpTransport({ token: running.server.token, baseUrl: base, WebSocket: sessionWebSocket(base, cookie) }));
  // what a browser adds to image requests by itself
  cookieHeader = cookie ?? '';
});

afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('browser mode on the real data layer', () => {
  it('imports a folder as a job with progress and a summary', async () => {
    const ds = await api.datasets.create({ name: 'Widget' });
    const events: ApiEvent[] = [];
    const finished = new Promise<ApiEvent>((ok) => {
      const off = api.onEvent((e) => {
        events.push(e);
        if (e.type === 'result' || e.type === 'error') {
          off();
          ok(e);
        }
      });
    });
    await new Promise((ok) => setTimeout(ok, 100));
    await api.datasets.importFolder({ datasetId: ds.id, folder: category() });
    const end = await finished;
    expect(end.type).toBe('result');
    const summary = (end as { value: ImportSummary }).value;
    expect(summary).toMatchObject({ layout: 'mvtec', imported: 5, masks: 1, status: 'completed' });
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    const [listed] = await api.datasets.list();
    expect(listed).toMatchObject({ name: 'Widget', imageCount: 5, counts: { good: 4, defect: 1, masked: 1 } });
    expect((await api.datasets.importRuns({ datasetId: ds.id }))[0]).toMatchObject({ status: 'completed', imported: 5 });
  });

  it('lists, filters and labels images', async () => {
    const page = await api.images.list({ datasetId: 1, limit: 2 });
    expect(page.total).toBe(5);
    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).not.toBeNull();
    const defects = await api.images.list({ datasetId: 1, label: 'defect' });
    expect(defects.items.map((i) => i.source)).toEqual(['test/crack/000.png']);
    const annotated = await api.images.list({ datasetId: 1, annotated: true });
    expect(annotated.total).toBe(1);
    const first = page.items[0]!;
    expect(await api.images.setLabel({ imageIds: [first.id], label: 'unlabelled' })).toEqual({ changed: 1 });
    expect((await api.images.get({ imageId: first.id })).label).toBe('unlabelled');
  });

  it('serves imported images through the path guard, and nothing beside them', async () => {
    const img = (await api.images.list({ datasetId: 1, limit: 1 })).items[0]!;
    const res = await get(api.fileUrl(img.path));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect((await get(api.fileUrl(join(dir, 'elsewhere.png')))).status).toBe(403);
  });

  it('renders and caches JPEG previews for grids, refusing odd sizes', async () => {
    const img = (await api.images.list({ datasetId: 1, limit: 1 })).items[0]!;
    const res = await get(api.thumbUrl(img.path, 64));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 8, height: 6 });
    expect(readdirSync(join(dir, 'data', 'thumbnails'))).toHaveLength(1);
    expect((await get(api.thumbUrl(img.path, 64))).status).toBe(200);
    expect((await get(`${api.fileUrl(img.path)}&thumb=65`)).status).toBe(400);
    expect((await get(api.thumbUrl(join(dir, 'elsewhere.png'), 64))).status).toBe(403);
  });

  it('loads the imported mask and saves a painted one losslessly', async () => {
    const crack = (await api.images.list({ datasetId: 1, label: 'defect' })).items[0]!;
    const [type] = await api.defectTypes.list({ datasetId: 1 });
    expect(type?.name).toBe('crack');
    const m = await api.masks.get({ imageId: crack.id, defectTypeId: type!.id });
    expect(m).toMatchObject({ width: 8, height: 6, info: { areaPx: 12 } });
    const painted = new Uint8Array(48);
    painted[5] = 1;
    painted[47] = 1;
    const info = await api.masks.save({ imageId: crack.id, defectTypeId: type!.id, width: 8, height: 6, data: painted });
    expect(info?.areaPx).toBe(2);
    expect([...(await api.masks.get({ imageId: crack.id, defectTypeId: type!.id }))!.data]).toEqual([...painted]);
    expect((await get(api.fileUrl(info!.path))).status).toBe(200);
    const wrong = await api.masks.save({ imageId: crack.id, defectTypeId: type!.id, width: 4, height: 12, data: painted }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ApiError);
    expect(wrong).toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('reports engine-backed methods as UNAVAILABLE with words', async () => {
    await expect(api.training.start({ datasetId: 1, preset: 'fast', backboneId: 'mobilenetv2' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(await api.training.listRuns({ datasetId: 1 })).toEqual([]);
    expect(await api.models.list({ datasetId: 1 })).toEqual([]);
  });

  it('deletes a dataset only with its exact name', async () => {
    await expect(api.datasets.delete({ datasetId: 1, confirmName: 'widget' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(await api.datasets.delete({ datasetId: 1, confirmName: 'Widget' })).toEqual({ deletedImages: 5 });
    expect(await api.datasets.list()).toEqual([]);
  });
});
