/** `bgad export --format triton` through the real CLI (bundled, in a child process): exit statuses and messages. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledCli, getFixture, removeDir, REPO_ROOT, tempDir, type Fixture } from '../inspection/fixture';

let fx: Fixture;
let cli: string;
let root: string;
beforeAll(async () => {
  [fx, cli] = await Promise.all([getFixture(), bundledCli()]);
  root = tempDir('bgad-cli-triton-');
}, 180_000);
afterAll(() => removeDir(root));

function bgad(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('bgad export --format triton', () => {
  it('writes the model repository and says how to serve it; an existing model is refused without --force', () => {
    const repo = join(root, 'models');
    const r = bgad(['export', '--model', fx.modelPath, '--format', 'triton', '--out', repo, '--name', 'stripes', '--max-batch', '4']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${join(repo, 'stripes')}`);
    expect(r.out).toMatch(/image \[batch, 3, 256, 256\] -> anomaly_map \[batch, 1, 256, 256\], pred_score \[batch\]/);
    expect(r.out).toMatch(/fail when pred_score > threshold/);
    expect(r.out).toContain(`tritonserver --model-repository ${repo}`);
    expect(readdirSync(join(repo, 'stripes')).sort()).toEqual(['1', 'config.pbtxt']);
    expect(existsSync(join(repo, 'stripes', '1', 'model.onnx'))).toBe(true);
    const config = readFileSync(join(repo, 'stripes', 'config.pbtxt'), 'utf8');
    expect(config).toMatch(/^name: "stripes"$/m);
    expect(config).toMatch(/^max_batch_size: 4$/m);

    const again = bgad(['export', '--model', fx.modelPath, '--format', 'triton', '--out', repo, '--name', 'stripes']);
    expect(again.code).toBe(2);
    expect(again.err).toContain(join(repo, 'stripes'));
    expect(again.err).toMatch(/already exists; add --force to replace it/);
    expect(readFileSync(join(repo, 'stripes', 'config.pbtxt'), 'utf8')).toBe(config);

    const forced = bgad(['export', '--model', fx.modelPath, '--format', 'triton', '--out', repo, '--name', 'stripes', '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(repo, 'stripes', 'config.pbtxt'), 'utf8')).toMatch(/^max_batch_size: 8$/m);
    expect(readdirSync(repo)).toEqual(['stripes']);
  }, 180_000);

  it('names the model after the file by default', () => {
    const repo = join(root, 'default-name');
    const r = bgad(['export', '--model', fx.modelPath, '--format', 'triton', '--out', repo]);
    expect(r.code).toBe(0);
    expect(readdirSync(repo)).toEqual(['model']);
  }, 180_000);

  it('exits 2 on a bad --format, name or batch size, and on a model that cannot be loaded', () => {
    const repo = join(root, 'bad');
    const fmt = bgad(['export', '--model', fx.modelPath, '--format', 'tensorrt', '--out', repo]);
    expect(fmt.code).toBe(2);
    expect(fmt.err).toMatch(/--format must be one of onnx, triton, got "tensorrt"/);
    expect(fmt.err).toMatch(/Usage: bgad export/);
    expect(bgad(['export', '--model', fx.modelPath, '--format', 'triton', '--out', repo, '--name', 'a b']).code).toBe(2);
    expect(bgad(['export', '--model', fx.modelPath, '--format', 'triton', '--out', repo, '--max-batch', '0']).code).toBe(2);
    expect(bgad(['export', '--model', fx.modelPath, '--out', join(root, 'x.onnx'), '--max-batch', '4']).code).toBe(2);

    const junk = join(root, 'junk.bgad');
    writeFileSync(junk, 'not a model at all, just some text that is long enough to pass the length check');
    const bad = bgad(['export', '--model', junk, '--format', 'triton', '--out', repo]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^bgad export: .*not a BGAD Inspector model/);
    const missing = bgad(['export', '--model', join(root, 'missing.bgad'), '--format', 'triton', '--out', repo]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^bgad export: /);
    // nothing was left in the repository folder
    expect(existsSync(repo) ? readdirSync(repo) : []).toEqual([]);
  }, 180_000);
});
