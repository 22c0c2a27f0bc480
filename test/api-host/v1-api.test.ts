/**
 * The inference API for line controllers (`bgad serve --api`: /v1/inspect, /v1/health) over
 * real HTTP: a real data folder (SQLite) holding the inspection fixture model as the active
 * version of a dataset, the real engine worker, the data folder's key. No key, a wrong key,
 * a real image (the same score as `inspection.inspectImage` gives), a corrupt one, a body
 * over the limit (streamed: 413 at once, and the server goes on answering), health, the
 * choice among several active models, the queue limit (503 + Retry-After), requests from web
 * pages, and a server without --api (404).
 * Needs the built engine worker (dist/engine/worker.js; `npm test` builds first).
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetSummary, ModelVersion, SingleInspection } from '../../src-main/common/api';
import { startServe } from '../../src-main/api-host/serve';
import { readApiKey } from '../../src-main/db/api-key';
import { createDataset } from '../../src-main/db/datasets';
import { activateModelVersion, createModelVersion } from '../../src-main/db/model-versions';
import { openStore, type Store } from '../../src-main/db/store';
import { EngineHost } from '../../src-main/engine/engine-host';
import { lazyEngine, servicesForStore } from '../../src-main/services';
import { getFixture, removeDir, tempDir, type Fixture } from '../inspection/fixture';
import { fakeServices } from './fake-services';
import { postApi, startTestServer } from './test-server';

const hasWorker = existsSync(join(process.cwd(), 'dist', 'engine', 'worker.js'));
/** The body limit of the server under test (MiB): small, so "huge" is quick to send. */
const MAX_MB = 2;

type V1Error = { error: { code: string; message: string; hint?: string } };

let dir: string;
let store: Store;
let fixture: Fixture;
let running: Awaited<ReturnType<typeof startServe>>;
let base: string;
let key: string;
let modelId: number;
let datasetId: number;
let image: Buffer;
const bundleRef = 'bundles/stripes.bgad';

async function v1(path: string, init: RequestInit & { key?: string | null } = {}): Promise<{ status: number; json: unknown; res: Response }> {
  const { key: k = key, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (k !== null) headers.set('authorization', `Bearer ${k}`);
  const res = await fetch(`${base}${path}`, { ...rest, headers });
  const text = await res.text();
  return { status: res.status, json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text, res };
}

const inspect = (body: Uint8Array, opts: { query?: string; type?: string; key?: string | null } = {}) =>
  v1(`/v1/inspect${opts.query ?? ''}`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': opts.type ?? 'application/octet-stream' }, key: opts.key });

const singleFolders = () => (existsSync(join(dir, 'data', 'inspections', 'single')) ? readdirSync(join(dir, 'data', 'inspections', 'single')) : []);

beforeAll(async () => {
  if (!hasWorker) return;
  fixture = await getFixture();
  dir = tempDir('bgad-v1-api-');
  store = openStore({ dataDir: join(dir, 'data') });
  datasetId = createDataset(store, { name: 'Stripes' }).id;
  mkdirSync(join(dir, 'data', 'bundles'), { recursive: true });
  copyFileSync(fixture.modelPath, join(dir, 'data', bundleRef));
  const meta = fixture.bundle.meta;
  modelId = createModelVersion(store, { datasetId, backboneId: meta.backbone.id, backboneHash: meta.backbone.sha256, bundleFile: bundleRef, threshold: meta.threshold }).id;
  activateModelVersion(store, modelId);
  image = readFileSync(join(fixture.testDir, 'good', readdirSync(join(fixture.testDir, 'good')).sort()[0]!));
  running = await startServe({
    appRoot: process.cwd(),
    services: servicesForStore(store, { engine: lazyEngine(() => EngineHost.workerThread()) }),
    out: () => {},
    api: true,
    apiMaxMb: MAX_MB,
  });
  base = `http://127.0.0.1:${running.server.port}`;
  key = readApiKey(join(dir, 'data'))!.key;
}, 600_000);

afterAll(async () => {
  await running?.stop();
  removeDir(dir);
});

describe.skipIf(!hasWorker)('the /v1 inference API', () => {
  it('refuses a request without a key (401, naming the header)', async () => {
    const r = await inspect(image, { key: null });
    expect(r.status).toBe(401);
    const e = (r.json as V1Error).error;
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.message).toMatch(/Authorization/);
    expect(e.message).toMatch(/Bearer/);
    expect(r.res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await v1('/v1/health', { key: null })).status).toBe(401);
  });

  it('refuses a wrong key, and the browser token, with 401 and the same shape', async () => {
    for (const wrong of ['x'.repeat(43), key.slice(0, -1), `${key}x`, running.server.token]) {
      const r = await inspect(image, { key: wrong });
      expect(r.status).toBe(401);
      expect((r.json as V1Error).error).toMatchObject({ code: 'UNAUTHORIZED', message: 'Wrong API key.' });
      expect(JSON.stringify(r.json)).not.toContain(key);
    }
    expect((await v1('/v1/health', { key: 'nope-'.repeat(10) })).status).toBe(401);
  });

  it('inspects a real image: the fields, and the same score as inspection.inspectImage', async () => {
    const before = singleFolders();
    const r = await inspect(image, { type: 'image/png' });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const body = r.json as { score: number; verdict: string; threshold: number; model: { id: number; version: number; datasetId: number; sha256: string }; ms: number };
    expect(Object.keys(body).sort()).toEqual(['model', 'ms', 'score', 'threshold', 'verdict']);
    expect(['pass', 'fail']).toContain(body.verdict);
    expect(body.verdict).toBe(body.score > body.threshold ? 'fail' : 'pass');
    expect(body.threshold).toBe(fixture.bundle.meta.threshold);
    expect(body.model).toMatchObject({ id: modelId, version: 1, datasetId, sha256: createHash('sha256').update(readFileSync(join(dir, 'data', bundleRef))).digest('hex') });
    expect(body.ms).toBeGreaterThan(0);
    // nothing of the request is left in the data folder, nor stored as an inspection run
    expect(singleFolders()).toEqual(before);
    expect((await postApi(base, 'inspection.listRuns', { authorization: `Bearer ${running.server.token}` }, {})).json?.value).toEqual([]);

    const ref = await postApi(base, 'inspection.inspectImage', { authorization: `Bearer ${running.server.token}` }, { modelId, image: { fileName: 'part.png', bytes: new Uint8Array(image) } });
    expect(ref.status).toBe(200);
    const single = ref.json!.value as SingleInspection;
    expect(Math.abs(single.score - body.score)).toBeLessThanOrEqual(1e-6);
    expect(single.verdict).toBe(body.verdict);
    expect(single.threshold).toBe(body.threshold);
  }, 120_000);

  it('answers a corrupt image, an empty body and a wrong content type with a 4xx JSON error naming the problem', async () => {
    const before = singleFolders();
    const corrupt = await inspect(new Uint8Array(randomBytes(5000)));
    expect(corrupt.status, JSON.stringify(corrupt.json)).toBe(422);
    expect((corrupt.json as V1Error).error.code).toBe('BAD_IMAGE');
    expect((corrupt.json as V1Error).error.message).toMatch(/image/i);
    expect((corrupt.json as V1Error).error.message).not.toMatch(/v1-[0-9a-f]{16}/);
    expect((corrupt.json as V1Error).error.message).toMatch(/request body: it is not an image/);
    expect((corrupt.json as V1Error).error.message).not.toContain(dir);

    const truncated = await inspect(image.subarray(0, Math.floor(image.length / 2)), { type: 'image/png' });
    expect(truncated.status, JSON.stringify(truncated.json)).toBe(422);
    expect((truncated.json as V1Error).error.code).toBe('BAD_IMAGE');
    expect((truncated.json as V1Error).error.message).toMatch(/truncated or damaged/);
    // the failed requests left nothing behind either
    expect(singleFolders()).toEqual(before);

    const empty = await inspect(new Uint8Array(0));
    expect(empty.status).toBe(400);
    expect((empty.json as V1Error).error.message).toMatch(/empty/);

    const json = await inspect(image, { type: 'application/json' });
    expect(json.status).toBe(415);
    expect((json.json as V1Error).error.message).toMatch(/image\/\*|octet-stream/);
    expect((json.json as V1Error).error.hint).toMatch(/Content-Type/);

    const form = await inspect(image, { type: 'multipart/form-data; boundary=x' });
    expect(form.status).toBe(415);
  }, 60_000);

  it('refuses a body over the limit with 413 before it is all sent, and goes on answering', async () => {
    // announced: Content-Length above the limit, answered before a byte of the body is read
    const announced = await rawRequest({ 'content-length': String(1024 ** 3) }, async () => undefined);
    expect(announced.status).toBe(413);
    expect(JSON.parse(announced.body).error.code).toBe('IMAGE_TOO_LARGE');

    // streamed (chunked): 413 as soon as the body passes the limit, while the client still sends
    const chunk = Buffer.alloc(256 * 1024, 7);
    let sent = 0;
    const t0 = Date.now();
    const streamed = await rawRequest({ 'transfer-encoding': 'chunked' }, async (req, answered) => {
      // up to 64 MiB, stopping once the answer is there
      while (sent < 64 * 1024 * 1024 && !answered()) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        sent += chunk.length;
      }
    });
    expect(streamed.status).toBe(413);
    const e = JSON.parse(streamed.body).error;
    expect(e).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(e.message).toMatch(new RegExp(`at most ${MAX_MB} MiB`));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(sent).toBeLessThan(32 * 1024 * 1024);

    const h = await v1('/v1/health');
    expect(h.status).toBe(200);
    expect((await inspect(image)).status).toBe(200);
  }, 60_000);

  it('/v1/health lists the active models with their hash and threshold', async () => {
    const r = await v1('/v1/health');
    expect(r.status).toBe(200);
    const body = r.json as { ok: boolean; version: string; models: { id: number; version: number; dataset: { id: number; name: string }; sha256: string; threshold: number }[] };
    expect(body.ok).toBe(true);
    expect(body.version).toBe(JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')).version);
    expect(body.models).toEqual([
      {
        id: modelId,
        version: 1,
        dataset: { id: datasetId, name: 'Stripes' },
        sha256: createHash('sha256').update(readFileSync(join(dir, 'data', bundleRef))).digest('hex'),
        threshold: fixture.bundle.meta.threshold,
      },
    ]);
  });

  it('refuses requests sent by web pages of other sites (no CORS, no cookies)', async () => {
    const foreign = await v1('/v1/health', { headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect((foreign.json as V1Error).error.code).toBe('FORBIDDEN');
    expect(foreign.res.headers.get('access-control-allow-origin')).toBeNull();
    const site = await v1('/v1/health', { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(site.status).toBe(403);
    // the browser session's cookie is no key
    const cookie = await fetch(`${base}/?token=${encodeURIComponent(running.server.token)}`).then((r) => r.headers.getSetCookie()[0]!.split(';')[0]!);
    expect((await v1('/v1/health', { key: null, headers: { cookie } })).status).toBe(401);
    // and /api still wants the token, not the key
    expect((await postApi(base, 'datasets.list', { authorization: `Bearer ${key}` })).status).toBe(401);
  });

  it('chooses among several active models: ?model=, ?dataset=, else 400 naming the choices', async () => {
    const other = createDataset(store, { name: 'Other' }).id;
    copyFileSync(fixture.modelPath, join(dir, 'data', 'bundles', 'other.bgad'));
    const meta = fixture.bundle.meta;
    const otherModel = createModelVersion(store, { datasetId: other, backboneId: meta.backbone.id, backboneHash: meta.backbone.sha256, bundleFile: 'bundles/other.bgad', threshold: meta.threshold * 2 }).id;
    activateModelVersion(store, otherModel);
    await new Promise((r) => setTimeout(r, 2100)); // the list of active models is reused for 2 s

    const ambiguous = await inspect(image);
    expect(ambiguous.status).toBe(400);
    const msg = (ambiguous.json as V1Error).error.message;
    expect(msg).toMatch(/\?model=/);
    expect(msg).toContain(`model ${modelId}`);
    expect(msg).toContain(`model ${otherModel}`);

    const byModel = await inspect(image, { query: `?model=${otherModel}` });
    expect(byModel.status).toBe(200);
    expect(byModel.json).toMatchObject({ threshold: meta.threshold * 2, model: { id: otherModel, datasetId: other } });
    const byDataset = await inspect(image, { query: `?dataset=${datasetId}` });
    expect(byDataset.json).toMatchObject({ threshold: meta.threshold, model: { id: modelId } });
    expect((await inspect(image, { query: '?dataset=Other' })).json).toMatchObject({ model: { id: otherModel } });
    expect((await inspect(image, { query: '?model=999' })).status).toBe(404);
    expect((await inspect(image, { query: '?model=abc' })).status).toBe(400);
    expect((await inspect(image, { query: '?dataset=999' })).status).toBe(404);
    const health = (await v1('/v1/health')).json as { models: { id: number }[] };
    expect(health.models.map((m) => m.id).sort()).toEqual([modelId, otherModel].sort());
  }, 120_000);
});

/** A POST to /v1/inspect with raw headers; `send` writes the body (told whether the answer came). */
function rawRequest(headers: Record<string, string>, send: (req: ReturnType<typeof request>, answered: () => boolean) => Promise<void>): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    let done = false;
    const req = request(`${base}/v1/inspect`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream', ...headers } }, (res) => {
      done = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => ok({ status: res.statusCode!, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('error', (e) => (done ? undefined : fail(e)));
    send(req, () => done).then(
      () => req.end(),
      () => req.destroy(),
    );
  });
}

describe('the /v1 API, switched off or busy', () => {
  it('answers 404 without --api, also with a key', async () => {
    const t = await startTestServer('bgad-v1-off-');
    try {
      const r = await fetch(`${t.base}/v1/health`, { headers: { authorization: 'Bearer whatever' } });
      expect(r.status).toBe(404);
      expect(((await r.json()) as V1Error).error.code).toBe('NOT_FOUND');
      const p = await fetch(`${t.base}/v1/inspect`, { method: 'POST', body: new Uint8Array(100), headers: { 'content-type': 'application/octet-stream' } });
      expect(p.status).toBe(404);
      // the setting switches it on while the server runs (the key is made then)
      const set = await postApi(t.base, 'app.setSettings', { authorization: `Bearer ${t.token}` }, { apiEnabled: true });
      expect(set.json).toMatchObject({ ok: true, value: { apiEnabled: true } });
      const k = readApiKey(join(t.dir, 'data'))!.key;
      expect((set.json!.value as { apiKey: string }).apiKey).toBe(k);
      const on = await fetch(`${t.base}/v1/health`, { headers: { authorization: `Bearer ${k}` } });
      expect(on.status).toBe(200);
      expect(await on.json()).toMatchObject({ ok: true, models: [] });
    } finally {
      await t.stop();
    }
  });

  it('queues beyond the concurrency limit and answers 503 with Retry-After past the queue', async () => {
    const root = tempDir('bgad-v1-busy-');
    const dataDir = join(root, 'data');
    mkdirSync(join(dataDir, 'bundles'), { recursive: true });
    writeFileSync(join(dataDir, 'bundles', 'm.bgad'), 'model');
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let inFlight = 0;
    let most = 0;
    const model = { id: 5, datasetId: 1, number: 1, bundleFile: 'bundles/m.bgad', threshold: 0.5, isActive: true } as ModelVersion;
    const services = fakeServices(dataDir, {
      'models.list': async () => [model],
      'inspection.inspectImage': async () => {
        most = Math.max(most, ++inFlight);
        await gate;
        inFlight--;
        return { path: null, score: 0.25, verdict: 'pass', threshold: 0.5, modelVersionId: 5, heatmapPath: '/nowhere.png' };
      },
    });
    services.datasetsById.set(1, { id: 1, name: 'D', activeModelVersionId: 5 } as DatasetSummary);
    const s = await startServe({ appRoot: root, services, out: () => {}, api: true, apiConcurrency: 1, apiQueue: 1 });
    try {
      const k = readApiKey(dataDir)!.key;
      const post = () => fetch(`http://127.0.0.1:${s.server.port}/v1/inspect`, { method: 'POST', body: new Uint8Array([1, 2, 3]), headers: { authorization: `Bearer ${k}`, 'content-type': 'image/png' } });
      const first = post();
      await new Promise((r) => setTimeout(r, 200));
      const second = post();
      await new Promise((r) => setTimeout(r, 200));
      const third = await post();
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toBe('1');
      expect(((await third.json()) as V1Error).error.code).toBe('UNAVAILABLE');
      open();
      const [a, b] = await Promise.all([first, second]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(await a.json()).toMatchObject({ score: 0.25, verdict: 'pass', threshold: 0.5, model: { id: 5, version: 1, datasetId: 1, sha256: createHash('sha256').update('model').digest('hex') } });
      expect(most).toBe(1);
    } finally {
      await s.stop();
      removeDir(root);
    }
  });

  const lan = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  it.skipIf(!lan)('with --host, answers /v1 on that interface (with a warning) and nothing else there', async () => {
    const root = tempDir('bgad-v1-host-');
    const lines: string[] = [];
    const s = await startServe({ appRoot: root, services: fakeServices(join(root, 'data')), out: (l) => lines.push(l), api: true, host: lan });
    try {
      expect(s.server.networkUrl).toBe(`http://${lan}:${s.server.port}`);
      expect(lines.join('\n')).toMatch(new RegExp(`WARNING: the inference API is reachable from the network at http://${lan!.replace(/\./g, '\\.')}:\\d+/v1/.*the API key is its only protection`));
      const k = readApiKey(join(root, 'data'))!.key;
      const net = `http://${lan}:${s.server.port}`;
      expect((await fetch(`${net}/v1/health`, { headers: { authorization: `Bearer ${k}` } })).status).toBe(200);
      expect((await fetch(`${net}/v1/health`)).status).toBe(401);
      // the app, its API and its files stay on loopback, whatever the Host header says
      expect((await fetch(`${net}/`)).status).toBe(404);
      const api = await fetch(`${net}/api/datasets.list`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.server.token}` }, body: '{}' });
      expect(api.status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${s.server.port}/v1/health`, { headers: { authorization: `Bearer ${k}` } })).status).toBe(200);
      expect((await postApi(`http://127.0.0.1:${s.server.port}`, 'datasets.list', { authorization: `Bearer ${s.server.token}` })).status).toBe(200);
    } finally {
      await s.stop();
      removeDir(root);
    }
  });

  it('refuses --host without --api', async () => {
    const root = tempDir('bgad-v1-host-');
    try {
      await expect(startServe({ appRoot: root, services: fakeServices(join(root, 'data')), out: () => {}, host: '0.0.0.0' })).rejects.toThrow(/needs --api/);
    } finally {
      removeDir(root);
    }
  });
});
