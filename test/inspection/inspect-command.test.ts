import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadCommands } from '../../src-main/cli/commands/index';
import { bundledCli, getFixture, removeDir, REPO_ROOT, SECOND_CATEGORY, tempDir, type Fixture } from './fixture';

let fx: Fixture;
let cli: string;
let root: string;
beforeAll(async () => {
  [fx, cli] = await Promise.all([getFixture(), bundledCli()]);
  root = tempDir('bgad-insp-cli-');
}, 180_000);
afterAll(() => removeDir(root));

function bgad(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const resultLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').filter((l) => l.includes('"type":"result"'));

describe('bgad inspect', () => {
  it('is registered with the other commands, with bgad export', async () => {
    const names = (await loadCommands()).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['inspect', 'export']));
  });

  it('exits 0 when every file passes and prints the summary with images/s and peak memory', () => {
    const r = bgad(['inspect', '--model', fx.modelPath, '--input', fx.testDir, '--out', join(root, 'good'), '--include', 'good/00[0-3].png', '--threads', '2', '--format', 'csv', '-q']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/4 files: 4 pass, 0 fail, 0 error/);
    expect(r.out).toMatch(/images\/s, [\d.]+ ms\/image; .*peak memory \d+ MB/);
    expect(existsSync(join(root, 'good', 'results.csv'))).toBe(true);
    expect(existsSync(join(root, 'good', 'report.pdf'))).toBe(false);
  });

  it('exits 1 when a file fails or cannot be inspected', () => {
    const fail = bgad(['inspect', '--model', fx.modelPath, '--input', fx.testDir, '--out', join(root, 'fail'), '--include', 'spot/000.png', '--threads', '2', '--format', 'csv', '-q']);
    expect(fail.out).toMatch(/1 files: 0 pass, 1 fail, 0 error/);
    expect(fail.code).toBe(1);
    const dir = join(root, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'empty.jpg'), '');
    const err = bgad(['inspect', '--model', fx.modelPath, '--input', dir, '--out', join(root, 'broken-out'), '--format', 'csv', '-q']);
    expect(err.out).toMatch(/error {2}empty\.jpg: .*empty \(0 bytes\)/);
    expect(err.code).toBe(1);
  });

  it('exits 2 on bad usage and when the model cannot be loaded', () => {
    const usage = bgad(['inspect', '--input', fx.testDir, '--out', join(root, 'x')]);
    expect([usage.code, usage.err]).toEqual([2, expect.stringMatching(/--model is required/)]);
    expect(bgad(['inspect', '--model', fx.modelPath, '--input', fx.testDir, '--out', join(root, 'x'), '--format', 'docx']).code).toBe(2);
    expect(bgad(['inspect', '--model', fx.modelPath, '--input', join(root, 'no-such-folder'), '--out', join(root, 'x')]).code).toBe(2);
    const junk = join(root, 'junk.bgad');
    writeFileSync(junk, 'not a model at all, just some text that is long enough to pass the length check');
    const bad = bgad(['inspect', '--model', junk, '--input', fx.testDir, '--out', join(root, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/not a BGAD Inspector model/);
    expect(bgad(['inspect', '--model', join(root, 'missing.bgad'), '--input', fx.testDir, '--out', join(root, 'x')]).code).toBe(2);
  });

  it('loses no finished result when killed with SIGKILL, and a re-run completes skipping the done files', async () => {
    const input = join(root, 'two-categories');
    mkdirSync(input);
    // 60 distinct images: the stripes test set and the disc test set
    for (const [cat, tag] of [[fx.categoryDir, 'a'], [join(fx.dataDir, SECOND_CATEGORY), 'b']] as const) {
      for (const sub of ['good', 'scratch', 'spot', 'missing']) {
        const src = join(cat, 'test', sub);
        if (!existsSync(src)) continue;
        for (let i = 0; i < 12; i++) {
          const f = join(src, `${String(i).padStart(3, '0')}.png`);
          if (existsSync(f)) copyFileSync(f, join(input, `${tag}-${sub}-${i}.png`));
        }
      }
    }
    const out = join(root, 'killed');
    const log = join(out, 'results.jsonl');
    const child = spawn(process.execPath, [cli, 'inspect', '--model', fx.modelPath, '--input', input, '--out', out, '--threads', '1', '--format', 'csv', '-q'], { cwd: REPO_ROOT, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
    const t0 = Date.now();
    while (resultLines(log).length < 5) {
      if (Date.now() - t0 > 60_000) throw new Error('no results within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const text = readFileSync(log, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow(); // every line whole (a torn tail would be cut on the next run)
    const done = resultLines(log).length;
    expect(done).toBeGreaterThanOrEqual(5);
    expect(done).toBeLessThan(60);

    const again = bgad(['inspect', '--model', fx.modelPath, '--input', input, '--out', out, '--threads', '2', '--format', 'csv', '--json', '-q']);
    expect(again.err).toBe('');
    const s = JSON.parse(again.out) as { total: number; resumed: number; inspected: number; files: { path: string }[] };
    expect(s.total).toBe(60);
    expect(s.resumed).toBe(done);
    expect(s.inspected).toBe(60 - done);
    expect(resultLines(log).length).toBe(60);
    expect(new Set(resultLines(log).map((l) => (JSON.parse(l) as { path: string }).path)).size).toBe(60);
  }, 120_000);
});

describe('bgad export', () => {
  it('writes an ONNX file that a plain session runs, and exits 2 for a bad model', async () => {
    const out = join(root, 'model.onnx');
    const r = bgad(['export', '--model', fx.modelPath, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*model\.onnx/);
    const session = await ort.InferenceSession.create(out);
    expect(session.inputNames).toEqual(['image']);
    expect([...session.outputNames].sort()).toEqual(['anomaly_map', 'pred_score']);
    await session.release();
    expect(bgad(['export', '--model', join(root, 'missing.bgad'), '--out', out]).code).toBe(2);
  });
});
