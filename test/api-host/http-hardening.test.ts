/**
 * Browser mode's defences, over a real server and real requests: requests from other sites
 * are refused, the token travels in the address only for the first page load (which sets an
 * HttpOnly session cookie for images and the event socket), oversized bodies get a 413 with
 * words instead of a reset, and images the importer accepted are served even when they are
 * symbolic links to files outside the imported folder.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiEvent, ImageRecord } from '../../src-main/common/api';
import { decodeWire, encodeWire } from '../../src-main/common/wire';
import { startServe } from '../../src-main/api-host/serve';
import { servicesForStore } from '../../src-main/services';
import { openStore } from '../../src-main/db/store';
import { sessionCookie } from './browser-session';
import { postApi, startTestServer, type ApiAnswer, type TestServer } from './test-server';

let server: TestServer;
let dir: string;
let running: TestServer['running'];
let base: string;
let token: string;
const heat = () => join(dir, 'data', 'heatmaps', 'h.png');

beforeAll(async () => {
  server = await startTestServer('bgad-harden-', (d) => sharp({ create: { width: 4, height: 3, channels: 3, background: '#808080' } }).png().toFile(join(d, 'data', 'heatmaps', 'h.png')));
  ({ dir, running, base, token } = server);
});

afterAll(async () => {
  await server?.stop();
});

type Answer = { status: number; json?: ApiAnswer };

async function post(method: string, headers: Record<string, string>, body: unknown = {}): Promise<Answer> {
  const { status, json } = await postApi(base, method, headers, body);
  return { status, json };
}

const bearer = () => ({ authorization: `Bearer ${token}` });

describe('requests from other sites (CSRF)', () => {
  it('refuses an API call with a foreign Origin even with the right token, with a 403 that says why', async () => {
    const r = await post('datasets.create', { ...bearer(), origin: 'http://evil.example' }, { name: 'Planted' });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(r.json?.error?.message).toMatch(/another site/i);
    expect(r.json?.error?.message).toContain('http://evil.example');
    expect((await post('datasets.list', bearer())).json).toMatchObject({ ok: true, value: [] }); // nothing was created
  });

  it('refuses Origin "null" (sandboxed frames, file: pages) and another port of this computer', async () => {
    expect((await post('datasets.list', { ...bearer(), origin: 'null' })).status).toBe(403);
    expect((await post('datasets.list', { ...bearer(), origin: `http://127.0.0.1:${running.server.port + 1}` })).status).toBe(403);
  });

  it('refuses calls that Sec-Fetch-Site marks as cross-site or same-site (another origin)', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const r = await post('datasets.list', { ...bearer(), 'sec-fetch-site': site });
      expect(r.status, site).toBe(403);
      expect(r.json?.error?.code).toBe('FORBIDDEN');
    }
  });

  it('answers calls from its own pages and from tools that send no Origin', async () => {
    expect((await post('datasets.list', { ...bearer(), origin: base, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await post('datasets.list', { ...bearer(), origin: `http://localhost:${running.server.port}` })).status).toBe(200);
    expect((await post('datasets.list', { ...bearer(), 'sec-fetch-site': 'none' })).status).toBe(200);
    expect((await post('datasets.list', bearer())).status).toBe(200);
  });

  it('refuses images asked for by another site, even with the session cookie', async () => {
    const cookie = (await sessionCookie(base, token))!;
    const url = `${base}/files?path=${encodeURIComponent(heat())}`;
    expect((await fetch(url, { headers: { cookie, 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await fetch(url, { headers: { cookie, origin: 'http://evil.example' } })).status).toBe(403);
  });
});

describe('the token in the address', () => {
  it('is not accepted for API calls', async () => {
    const res = await fetch(`${base}/api/datasets.list?token=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    expect((decodeWire(await res.text()) as Answer['json'])?.error?.code).toBe('UNAUTHORIZED');
  });

  it('is not accepted for images', async () => {
    expect((await fetch(`${base}/files?path=${encodeURIComponent(heat())}&token=${encodeURIComponent(token)}`)).status).toBe(401);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie for the whole site on the first page load', async () => {
    const res = await fetch(`${base}/?token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    const [set, ...more] = res.headers.getSetCookie();
    expect(more).toEqual([]);
    expect(set).toBeDefined();
    const attrs = set!.split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toContain('httponly');
    expect(attrs).toContain('samesite=strict');
    expect(attrs).toContain('path=/');
    expect(set).not.toContain(token); // the cookie is not the token
  });

  it('sets no cookie for a wrong token or none', async () => {
    expect((await fetch(`${base}/?token=nope`)).headers.getSetCookie()).toEqual([]);
    expect((await fetch(`${base}/`)).headers.getSetCookie()).toEqual([]);
  });

  it('lets the session cookie load images and open the event socket, but not call the API', async () => {
    const cookie = (await sessionCookie(base, token))!;
    expect(cookie).toBeTruthy();
    const img = await fetch(`${base}/files?path=${encodeURIComponent(heat())}&thumb=64`, { headers: { cookie } });
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect((await fetch(`${base}/files?path=${encodeURIComponent(heat())}`, { headers: { cookie: 'bgad_session_1=forged' } })).status).toBe(401);
    expect((await post('datasets.list', { cookie })).status).toBe(401);

    const ws = new WebSocket(`ws://127.0.0.1:${running.server.port}/api/events`, { origin: base, headers: { cookie } });
    await new Promise((ok, fail) => {
      ws.on('open', ok);
      ws.on('unexpected-response', (_q, res) => fail(new Error(`event socket refused: ${res.statusCode}`)));
      ws.on('error', fail);
    });
    const got = new Promise<ApiEvent>((ok) => ws.on('message', (d) => ok(decodeWire(String(d)) as ApiEvent)));
    await post('datasets.create', bearer(), { name: 'Events' });
    await post('datasets.importFolder', bearer(), { datasetId: 1, folder: '/photos' });
    expect(await got).toHaveProperty('jobId');
    ws.close();
  });

  it('opens no event socket with the token in the address only', async () => {
    const status = await new Promise<number>((ok) => {
      const ws = new WebSocket(`ws://127.0.0.1:${running.server.port}/api/events?token=${encodeURIComponent(token)}`, { origin: base });
      ws.on('unexpected-response', (_q, res) => ok(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        ok(101);
      });
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });
});

/** A raw POST: headers, then `send` decides what body goes out; resolves with the answer or the socket error. */
function rawPost(headers: Record<string, string>, send: (req: ReturnType<typeof request>, stopped: () => boolean) => void): Promise<{ status?: number; body?: string; error?: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((ok) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port: running.server.port, method: 'POST', path: '/api/masks.save', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers } }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => ok({ status: res.statusCode, body: text, ms: Date.now() - t0 }));
      res.on('error', (e) => ok({ status: res.statusCode, body: text, error: (e as NodeJS.ErrnoException).code, ms: Date.now() - t0 }));
    });
    req.on('error', (e) => {
      if (!answered) ok({ error: (e as NodeJS.ErrnoException).code ?? e.message, ms: Date.now() - t0 });
    });
    send(req, () => answered);
  });
}

describe('oversized bodies', () => {
  const LIMIT = 400 * 1024 * 1024;

  it('answers 413 with a JSON error as soon as Content-Length is over the limit, without waiting for the body', async () => {
    const r = await rawPost({ 'content-length': String(LIMIT + 1) }, (req) => req.write('{"imageId":1,'));
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(413);
    expect(r.ms).toBeLessThan(5000);
    const json = decodeWire(r.body!) as Answer['json'];
    expect(json).toMatchObject({ ok: false, error: { code: 'IMAGE_TOO_LARGE' } });
    expect(json?.error?.message).toMatch(/400 MB/);
  }, 20_000);

  it('answers 413 with a JSON error when a chunked body passes the limit', async () => {
    const chunk = Buffer.alloc(4 * 1024 * 1024, 0x41);
    const r = await rawPost({ 'transfer-encoding': 'chunked' }, (req, stopped) => {
      let sent = 0;
      const pump = () => {
        while (!stopped() && sent <= LIMIT + chunk.length) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!stopped()) req.end();
      };
      req.write('{"imageId":1,"x":"');
      pump();
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(413);
    expect((decodeWire(r.body!) as Answer['json'])?.error?.code).toBe('IMAGE_TOO_LARGE');
  }, 60_000);

  it('still answers calls afterwards', async () => {
    expect((await post('datasets.list', bearer())).status).toBe(200);
  });
});

describe('files the importer accepted', () => {
  let real: Awaited<ReturnType<typeof startServe>>;
  let realBase: string;
  let images: ImageRecord[];
  const folder = () => join(dir, 'imported');

  beforeAll(async () => {
    mkdirSync(folder(), { recursive: true });
    mkdirSync(join(dir, 'elsewhere'), { recursive: true });
    await sharp({ create: { width: 8, height: 6, channels: 3, background: '#336699' } }).png().toFile(join(folder(), 'plain.png'));
    await sharp({ create: { width: 8, height: 6, channels: 3, background: '#996633' } }).png().toFile(join(dir, 'elsewhere', 'target.png'));
    await sharp({ create: { width: 8, height: 6, channels: 3, background: '#669933' } }).gif().toFile(join(folder(), 'anim.gif'));
    await sharp({ create: { width: 8, height: 6, channels: 3, background: '#123456' } }).png().toFile(join(dir, 'elsewhere', 'not-imported.png'));
    symlinkSync(join(dir, 'elsewhere', 'target.png'), join(folder(), 'linked.png'));
    mkdirSync(join(dir, 'real-data', 'heatmaps'), { recursive: true });
    symlinkSync(join(dir, 'elsewhere', 'not-imported.png'), join(dir, 'real-data', 'heatmaps', 'planted.png'));
    real = await startServe({ appRoot: join(dir, 'app'), services: servicesForStore(openStore({ dataDir: join(dir, 'real-data') })), out: () => {} });
    realBase = `http://127.0.0.1:${real.server.port}`;
    const call = async (method: string, args: unknown) => {
      const res = await fetch(`${realBase}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${real.server.token}` }, body: encodeWire(args) });
      const answer = decodeWire(await res.text()) as { ok: boolean; value: unknown; error?: unknown };
      if (!answer.ok) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
      return answer.value;
    };
    const ds = (await call('datasets.create', { name: 'Links' })) as { id: number };
    const { jobId } = (await call('datasets.importFolder', { datasetId: ds.id, folder: folder() })) as { jobId: string };
    for (let i = 0; i < 200; i++) {
      const job = (await call('jobs.get', { jobId })) as { status: string; error?: unknown };
      if (job.status !== 'running') {
        expect(job).toMatchObject({ status: 'completed' });
        break;
      }
      await new Promise((ok) => setTimeout(ok, 50));
    }
    images = ((await call('images.list', { datasetId: ds.id })) as { items: ImageRecord[] }).items;
  });

  afterAll(async () => {
    await real?.stop();
  });

  // the header works before and after the session cookie existed; the cookie is tested above
  const file = (path: string, thumb?: number) => fetch(`${realBase}/files?path=${encodeURIComponent(path)}${thumb ? `&thumb=${thumb}` : ''}`, { headers: { authorization: `Bearer ${real.server.token}` } });

  it('imports the symlinked image and the GIF (what the importer accepts)', () => {
    expect(images.map((i) => i.path).sort()).toEqual([join(folder(), 'anim.gif'), join(folder(), 'linked.png'), join(folder(), 'plain.png')]);
  });

  it('serves the symlinked image and its thumbnail', async () => {
    const linked = join(folder(), 'linked.png');
    const full = await file(linked);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('image/png');
    const thumb = await file(linked, 64);
    expect(thumb.status).toBe(200);
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).format).toBe('jpeg');
  });

  it('serves the imported GIF and its thumbnail', async () => {
    const gif = join(folder(), 'anim.gif');
    const full = await file(gif);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('image/gif');
    expect((await file(gif, 64)).status).toBe(200);
  });

  it('still refuses what was not imported: the link target by its own path, and links planted elsewhere', async () => {
    expect((await file(join(dir, 'elsewhere', 'target.png'))).status).toBe(403);
    expect((await file(join(dir, 'elsewhere', 'not-imported.png'))).status).toBe(403);
    expect((await file(join(dir, 'real-data', 'heatmaps', 'planted.png'))).status).toBe(403);
    expect((await file(`${folder()}/../elsewhere/target.png`)).status).toBe(403);
  });
});
