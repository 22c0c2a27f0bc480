/**
 * The model bundle as a file (src-main/model/bundle-file.ts): load and save, the hashes that
 * name a model, and the threshold rewritten in place (its one home).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle, readModelSource, rewriteBundleThreshold, saveBundle } from '../../src-main/model/bundle-file';
import { heatScale, colourOf } from '../../src-main/model/heat-scale';
import { withThreshold } from '../../src-main/bgad/bundle';
import { getFixture, type Fixture } from '../inspection/fixture';

let fx: Fixture;
let tmp: string;

beforeAll(async () => {
  fx = await getFixture();
  tmp = mkdtempSync(join(tmpdir(), 'bgad-model-file-'));
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a model bundle file', () => {
  it('saves and loads the same model, leaving no temp file', async () => {
    const file = join(tmp, 'copy.bgad');
    await saveBundle(file, fx.bundle);
    expect(readdirSync(tmp)).toEqual(['copy.bgad']);
    const back = await loadBundle(file);
    expect(back.meta).toEqual(fx.bundle.meta);
    expect(back.weights.map((w) => [...w.params.keys()])).toEqual(fx.bundle.weights.map((w) => [...w.params.keys()]));
    expect(readFileSync(file).equals(readFileSync(fx.modelPath))).toBe(true);
  });

  it('rejects a truncated, corrupted or foreign model file with a clear error', async () => {
    const good = readFileSync(fx.modelPath);
    const truncated = join(tmp, 't.bgad');
    writeFileSync(truncated, good.subarray(0, good.length - 100));
    await expect(loadBundle(truncated)).rejects.toMatchObject({ code: 'BAD_MODEL', message: expect.stringMatching(/corrupt or truncated/) });
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] ^= 0xff;
    const corrupt = join(tmp, 'c.bgad');
    writeFileSync(corrupt, flipped);
    await expect(loadBundle(corrupt)).rejects.toMatchObject({ code: 'BAD_MODEL' });
    const foreign = join(tmp, 'f.bgad');
    writeFileSync(foreign, 'PK\x03\x04 this is a zip file, not a model');
    await expect(loadBundle(foreign)).rejects.toMatchObject({ code: 'BAD_MODEL', message: expect.stringMatching(/not a BGAD Inspector model/) });
    await expect(loadBundle(join(tmp, 'missing.bgad'))).rejects.toMatchObject({ code: 'BAD_MODEL', message: expect.stringMatching(/cannot be read/) });
  });

  it('names a model by its file hash, and by a scoring hash that a threshold change keeps', async () => {
    const a = await readModelSource(fx.modelPath);
    expect(a.file).toBe(fx.modelPath);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    const inMemory = await readModelSource(fx.bundle);
    expect(inMemory).toMatchObject({ file: null, sha256: a.sha256, scoringSha256: a.scoringSha256 });
    const moved = await readModelSource(withThreshold(fx.bundle, fx.bundle.meta.threshold + 1));
    expect(moved.sha256).not.toBe(a.sha256);
    expect(moved.scoringSha256).toBe(a.scoringSha256);
  });

  it('rewrites the threshold in place, recording the change, and writes nothing when it is unchanged', async () => {
    const file = join(tmp, 'v1.bgad');
    await saveBundle(file, fx.bundle);
    const t0 = fx.bundle.meta.threshold;
    const before = statSync(file).mtimeMs;
    rewriteBundleThreshold(file, t0, 1);
    expect(statSync(file).mtimeMs).toBe(before);
    rewriteBundleThreshold(file, t0 + 0.5, 1);
    const b = await loadBundle(file);
    expect(b.meta.threshold).toBe(t0 + 0.5);
    expect(b.meta.thresholdRule).toMatchObject({ kind: 'set-by-user', previous: t0, trained: { kind: 'held-out-false-reject-rate' } });
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to rewrite a missing or damaged bundle, leaving it as it is', () => {
    expect(() => rewriteBundleThreshold(join(tmp, 'gone.bgad'), 1, 7)).toThrow(expect.objectContaining({ code: 'BAD_MODEL', message: expect.stringMatching(/version 7 .* is missing; the threshold was not changed/) }));
    expect(existsSync(join(tmp, 'gone.bgad'))).toBe(false);
    const damaged = join(tmp, 'damaged.bgad');
    writeFileSync(damaged, 'not a model');
    expect(() => rewriteBundleThreshold(damaged, 1, 8)).toThrow(expect.objectContaining({ code: 'BAD_MODEL' }));
    expect(readFileSync(damaged, 'utf8')).toBe('not a model');
  });
});

describe('the heat-map colour scale', () => {
  it('puts the threshold in the middle (green) and the calibrated maximum at the red end', () => {
    const s = heatScale(2, 3);
    expect(s).toEqual({ lo: 1, hi: 3 });
    expect(colourOf(0.5)[1]).toBe(255);
    expect(colourOf(1)).toEqual([128, 0, 0]);
    expect(colourOf(0)).toEqual([0, 0, 128]);
  });
});
