import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiEvent } from '../../src-main/common/api';
import { decodeWire } from '../../src-main/common/wire';
import { startServe } from '../../src-main/api-host/serve';
import { fakeServices } from './fake-services';
import { sessionCookie } from './browser-session';
import { postApi, startTestServer, type TestServer } from './test-server';

let server: TestServer;
let dir: string;
let running: TestServer['running'];
let base: string;
let token: string;

beforeAll(async () => {
  server = await startTestServer('bgad-http-', (d) => {
    writeFileSync(join(d, 'data', 'heatmaps', 'h.png'), Buffer.from([137, 80, 78, 71, 1, 2, 3]));
    writeFileSync(join(d, 'secret.png'), 'outside');
    mkdirSync(join(d, 'app'));
    writeFileSync(join(d, 'app', 'package.json'), JSON.stringify({ name: 'bgad-inspector', version: '9.9.9' }));
  });
  ({ dir, running, base, token } = server);
});

afterAll(async () => {
  await server?.stop();
});

async function call(method: string, args: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) {
  const { status, json, res } = await postApi(base, method, headers, args);
  return { status, body: json, res };
}

describe('browser mode server', () => {
  it('binds only to the loopback interface and prints a URL with the token', () => {
    const addr = running.server.server.address();
    expect(addr).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
    expect(running.server.url).toBe(`${base}/?token=${encodeURIComponent(token)}`);
    expect(token.length).toBeGreaterThanOrEqual(40);
  });

  it('generates a different token on every start', async () => {
    const other = await startServe({ appRoot: join(dir, 'app'), services: fakeServices(join(dir, 'data')), out: () => {} });
    try {
      expect(other.server.token).not.toBe(token);
    } finally {
      await other.stop();
    }
  });

  it('refuses API calls with a missing or wrong token', async () => {
    const missing = await call('datasets.list', {}, {});
    expect(missing.status).toBe(401);
    expect(missing.body?.error?.code).toBe('UNAUTHORIZED');
    const wrong = await call('datasets.list', {}, { authorization: `Bearer ${token.slice(0, -1)}x` });
    expect(wrong.status).toBe(401);
    const wrongQuery = await fetch(`${base}/api/datasets.list?token=nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(wrongQuery.status).toBe(401);
  });

  it('answers API calls with the right token in a header, never in the query', async () => {
    const created = await call('datasets.create', { name: 'Tiles' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ ok: true, value: { name: 'Tiles' } });
    const viaHeader = await call('datasets.list', {}, { 'x-bgad-token': token });
    expect(viaHeader.body?.value).toHaveLength(1);
    const viaQuery = await fetch(`${base}/api/datasets.list?token=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(viaQuery.status).toBe(401);
  });

  it('rejects malformed arguments with a 400 naming the field', async () => {
    const r = await call('datasets.rename', { datasetId: 'one', name: 'x' });
    expect(r.status).toBe(400);
    expect(r.body?.error).toMatchObject({ code: 'BAD_ARGUMENT' });
    expect(r.body?.error?.message).toContain('args.datasetId');
    const unknownField = await call('datasets.create', { name: 'x', evil: true });
    expect(unknownField.status).toBe(400);
    const badJson = await fetch(`${base}/api/datasets.list`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{nope' });
    expect(badJson.status).toBe(400);
    const notJson = await fetch(`${base}/api/datasets.list`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` }, body: '{}' });
    expect(notJson.status).toBe(415);
    const unknown = await call('datasets.explode', {});
    expect(unknown.status).toBe(404);
  });

  it('says UNAVAILABLE (503) for services that are not there yet', async () => {
    const r = await call('models.list', { datasetId: 1 });
    expect(r.status).toBe(503);
    expect(r.body?.error?.code).toBe('UNAVAILABLE');
  });

  it('moves binary mask pixels through JSON both ways', async () => {
    const r = await call('masks.get', { imageId: 1, defectTypeId: 1 });
    expect(r.status).toBe(200);
    const value = r.body?.value as { width: number; data: Uint8Array };
    expect(value.width).toBe(3);
    expect([...value.data]).toEqual([0, 1, 1, 0, 0, 1]);
    expect((await call('masks.get', { imageId: 2, defectTypeId: 1 })).body).toEqual({ ok: true, value: null });
    const saved = await call('masks.save', { imageId: 3, defectTypeId: 1, width: 3, height: 1, data: new Uint8Array([1, 1, 0]) });
    expect(saved.body?.value).toMatchObject({ areaPx: 2 });
    const wrongSize = await call('masks.save', { imageId: 3, defectTypeId: 1, width: 3, height: 2, data: new Uint8Array([1, 1, 0]) });
    expect(wrongSize.status).toBe(400);
  });

  it('refuses a Host header that is not this server (DNS rebinding)', async () => {
    const status = await new Promise<number>((ok, fail) => {
      const req = request({ host: '127.0.0.1', port: running.server.port, path: '/api/datasets.list', method: 'POST', headers: { host: `evil.example:${running.server.port}`, authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        ok(res.statusCode ?? 0);
      });
      req.on('error', fail);
      req.end('{}');
    });
    expect(status).toBe(421);
  });

  it('serves images from the data folder only, with the session cookie or the token in a header', async () => {
    const inside = join(dir, 'data', 'heatmaps', 'h.png');
    const noToken = await fetch(`${base}/files?path=${encodeURIComponent(inside)}`);
    expect(noToken.status).toBe(401);
    const cookie = (await sessionCookie(base, token))!;
    const ok = await fetch(`${base}/files?path=${encodeURIComponent(inside)}`, { headers: { cookie } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await ok.arrayBuffer())).toHaveLength(7);
    expect((await fetch(`${base}/files?path=${encodeURIComponent(inside)}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const outside = await fetch(`${base}/files?path=${encodeURIComponent(join(dir, 'secret.png'))}`, { headers: { cookie } });
    expect(outside.status).toBe(403);
    const dotdot = await fetch(`${base}/files?path=${encodeURIComponent(join(dir, 'data', '..', 'secret.png'))}`, { headers: { cookie } });
    expect(dotdot.status).toBe(403);
  });

  it('shows a clear page when the renderer is not built, with a strict CSP', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run build');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect((await fetch(`${base}/..%2f..%2fetc/passwd`)).status).toBe(403);
  });

  it('refuses event sockets without the right token or from another origin', async () => {
    const refused = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((ok) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          ok(101);
        });
        ws.on('error', () => undefined);
      });
    const wsBase = `ws://127.0.0.1:${running.server.port}/api/events`;
    expect(await refused(wsBase)).toBe(401);
    expect(await refused(`${wsBase}?token=wrong`)).toBe(401);
    expect(await refused(`${wsBase}?token=${encodeURIComponent(token)}`, { origin: 'http://evil.example' })).toBe(403);
  });

  it('pushes job progress and the result over the event socket', async () => {
    const cookie = (await sessionCookie(base, token))!;
    const ws = new WebSocket(`ws://127.0.0.1:${running.server.port}/api/events`, { origin: base, headers: { cookie } });
    await new Promise((ok, fail) => {
      ws.on('open', ok);
      ws.on('error', fail);
    });
    const events: ApiEvent[] = [];
    const finished = new Promise<void>((ok) =>
      ws.on('message', (data) => {
        const e = decodeWire(String(data)) as ApiEvent;
        events.push(e);
        if (e.type !== 'progress') ok();
      }),
    );
    const started = await call('datasets.importFolder', { datasetId: 1, folder: '/photos' });
    expect(started.status).toBe(200);
    const { jobId } = started.body?.value as { jobId: string };
    await finished;
    ws.close();
    expect(events.every((e) => 'jobId' in e && e.jobId === jobId)).toBe(true);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'result', kind: 'import', value: { imported: 5 } });
    const state = await call('jobs.get', { jobId });
    expect(state.body?.value).toMatchObject({ status: 'completed', runId: 42 });
  });
});
