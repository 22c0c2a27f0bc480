/**
 * Report and model exports never replace a file silently: over HTTP on the real data layer,
 * inspection.exportReport and models.export refuse an existing file (409 CONFLICT naming it)
 * unless the request says `overwrite: true`; `bgad export --out` refuses one unless --force.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWire, encodeWire } from '../../src-main/common/wire';
import { startServe } from '../../src-main/api-host/serve';
import { servicesForStore } from '../../src-main/services';
import type { EngineRunner } from '../../src-main/services';
import { openStore, type Store } from '../../src-main/db/store';
import { createDataset } from '../../src-main/db/datasets';
import { createInspectionRun } from '../../src-main/db/inspections';
import { createModelVersion } from '../../src-main/db/model-versions';
import exportCommand from '../../src-main/cli/commands/export';

let dir: string;
let store: Store;
let running: Awaited<ReturnType<typeof startServe>>;
let runId: number;
let modelId: number;
const exported: string[] = [];

/** The engine's export job, standing in: writes the ONNX file where it is told. */
const engine: EngineRunner = {
  async run<T>(kind: string, params: unknown): Promise<T> {
    if (kind !== 'export-model') throw new Error(`unexpected engine job ${kind}`);
    const { out } = params as { out: string };
    await writeFile(out, 'NEW ONNX');
    exported.push(out);
    return { path: out } as T;
  },
  async dispose() {},
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-overwrite-'));
  store = openStore({ dataDir: join(dir, 'data') });
  const ds = createDataset(store, { name: 'D' });
  runId = createInspectionRun(store, { source: join(dir, 'photos'), datasetId: ds.id }).id;
  mkdirSync(join(dir, 'data', 'inspections', String(runId)), { recursive: true });
  writeFileSync(join(dir, 'data', 'inspections', String(runId), 'report.pdf'), 'NEW PDF');
  writeFileSync(join(dir, 'data', 'inspections', String(runId), 'results.csv'), 'NEW CSV');
  writeFileSync(join(dir, 'data', 'bundles', 'm.bgad'), 'bundle');
  modelId = createModelVersion(store, { datasetId: ds.id, backboneId: 'b', backboneHash: 'h', bundleFile: 'bundles/m.bgad', threshold: null }).id;
  mkdirSync(join(dir, 'out', 'a-folder.pdf'), { recursive: true });
  running = await startServe({ appRoot: dir, services: servicesForStore(store, { engine }), out: () => {} });
});

afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, args: unknown): Promise<{ status: number; ok: boolean; value?: { path: string }; error?: { code: string; message: string; hint?: string; subject?: string } }> {
  const res = await fetch(`http://127.0.0.1:${running.server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${running.server.token}` },
    body: encodeWire(args),
  });
  return { status: res.status, ...(decodeWire(await res.text()) as { ok: boolean }) };
}

const out = (name: string) => join(dir, 'out', name);
const read = (p: string) => readFileSync(p, 'utf8');

describe('inspection.exportReport', () => {
  it('writes a new file', async () => {
    const r = await call('inspection.exportReport', { runId, format: 'pdf', outPath: out('report.pdf') });
    expect(r).toMatchObject({ status: 200, ok: true, value: { path: out('report.pdf') } });
    expect(read(out('report.pdf'))).toBe('NEW PDF');
  });

  it('refuses an existing file with 409 CONFLICT naming it, and leaves it alone', async () => {
    writeFileSync(out('keep.csv'), 'MINE');
    const r = await call('inspection.exportReport', { runId, format: 'csv', outPath: out('keep.csv') });
    expect(r.status).toBe(409);
    expect(r.error).toMatchObject({ code: 'CONFLICT', subject: out('keep.csv') });
    expect(r.error?.message).toContain(out('keep.csv'));
    expect(r.error?.message).toMatch(/already exists/);
    expect(r.error?.hint).toMatch(/overwrite|another name/i);
    expect(read(out('keep.csv'))).toBe('MINE');
    // the extension the service adds counts too
    writeFileSync(out('named.pdf'), 'MINE');
    expect((await call('inspection.exportReport', { runId, format: 'pdf', outPath: out('named') })).error?.code).toBe('CONFLICT');
    expect(read(out('named.pdf'))).toBe('MINE');
  });

  it('replaces it when the request says overwrite: true', async () => {
    writeFileSync(out('again.csv'), 'MINE');
    const r = await call('inspection.exportReport', { runId, format: 'csv', outPath: out('again.csv'), overwrite: true });
    expect(r).toMatchObject({ status: 200, ok: true });
    expect(read(out('again.csv'))).toBe('NEW CSV');
    expect((await call('inspection.exportReport', { runId, format: 'csv', outPath: out('fresh.csv'), overwrite: false })).status).toBe(200);
  });

  it('validates the flag and never replaces a folder', async () => {
    const bad = await call('inspection.exportReport', { runId, format: 'csv', outPath: out('x.csv'), overwrite: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.error?.message).toContain('args.overwrite');
    const folder = await call('inspection.exportReport', { runId, format: 'pdf', outPath: out('a-folder.pdf'), overwrite: true });
    expect(folder.status).toBe(400);
    expect(folder.error?.code).toBe('BAD_ARGUMENT');
  });
});

describe('models.export', () => {
  it('writes a new file', async () => {
    const r = await call('models.export', { modelId, outPath: out('model.onnx') });
    expect(r).toMatchObject({ status: 200, value: { path: out('model.onnx') } });
    expect(read(out('model.onnx'))).toBe('NEW ONNX');
  });

  it('refuses an existing file unless overwrite: true', async () => {
    writeFileSync(out('mine.onnx'), 'MINE');
    const before = exported.length;
    const r = await call('models.export', { modelId, outPath: out('mine.onnx') });
    expect(r.status).toBe(409);
    expect(r.error).toMatchObject({ code: 'CONFLICT', subject: out('mine.onnx') });
    expect(read(out('mine.onnx'))).toBe('MINE');
    expect((await call('models.export', { modelId, outPath: out('mine') })).error?.code).toBe('CONFLICT');
    expect(read(out('mine.onnx'))).toBe('MINE');
    expect(exported.length).toBe(before); // the engine was not even asked
    const again = await call('models.export', { modelId, outPath: out('mine.onnx'), overwrite: true });
    expect(again).toMatchObject({ status: 200, value: { path: out('mine.onnx') } });
    expect(read(out('mine.onnx'))).toBe('NEW ONNX');
  });
});

describe('bgad export --out', () => {
  const io = () => {
    const lines: string[] = [];
    return { lines, io: { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), progress: () => undefined } };
  };

  it('refuses an existing file without --force, and leaves it alone', async () => {
    writeFileSync(out('cli.onnx'), 'MINE');
    const a = io();
    const code = await exportCommand.run({ values: { model: join(dir, 'no-such.bgad'), out: out('cli.onnx') }, positionals: [] }, a.io);
    expect(code).toBe(2);
    expect(a.lines.join('\n')).toMatch(/already exists/);
    expect(a.lines.join('\n')).toContain('--force');
    expect(read(out('cli.onnx'))).toBe('MINE');
  });

  it('goes on to the export with --force', async () => {
    const a = io();
    const code = await exportCommand.run({ values: { model: join(dir, 'no-such.bgad'), out: out('cli.onnx'), force: true }, positionals: [] }, a.io);
    expect(code).toBe(2); // the model does not exist: that is what it says now
    expect(a.lines.join('\n')).not.toMatch(/already exists/);
    expect(a.lines.join('\n')).toMatch(/no-such\.bgad/);
    expect(exportCommand.usage).toMatch(/--force/);
  });
});
