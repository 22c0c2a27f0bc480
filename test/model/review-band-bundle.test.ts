/**
 * The review band in the model bundle (issue 20): written in place like the threshold, absent in
 * bundles written before it, kept out of the scoring identity, refused when malformed.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, withReviewBand, withThreshold } from '../../src-main/bgad/bundle';
import { loadBundle, readModelSource, rewriteBundleReviewBand, saveBundle } from '../../src-main/model/bundle-file';
import { getFixture, type Fixture } from '../inspection/fixture';

let fx: Fixture;
let tmp: string;

beforeAll(async () => {
  fx = await getFixture();
  tmp = mkdtempSync(join(tmpdir(), 'bgad-band-bundle-'));
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the review band in a bundle', () => {
  it('a trained bundle keeps the held-out scores its threshold was set on, and no band', () => {
    const m = fx.bundle.meta;
    expect(m.reviewBand).toBeUndefined();
    expect(m.heldOutScores!.length).toBe(m.thresholdRule.kind === 'held-out-false-reject-rate' ? m.thresholdRule.heldOutImages : -1);
    expect(Math.max(...m.heldOutScores!)).toBeCloseTo(m.threshold, 6); // 1 % of at most 40 normals: the highest
  });

  it('is rewritten in place, cleared, and an unchanged band writes nothing; the threshold and weights stay', async () => {
    const file = join(tmp, 'm.bgad');
    await saveBundle(file, fx.bundle);
    const t = fx.bundle.meta.threshold;
    rewriteBundleReviewBand(file, { low: t - 0.1, high: t + 0.2 }, 3);
    const b = await loadBundle(file);
    expect(b.meta.reviewBand).toEqual({ low: t - 0.1, high: t + 0.2 });
    expect(b.meta.threshold).toBe(t);
    expect(b.meta.thresholdRule).toEqual(fx.bundle.meta.thresholdRule);
    const before = statSync(file).mtimeMs;
    const bytes = readFileSync(file);
    await new Promise((r) => setTimeout(r, 20));
    rewriteBundleReviewBand(file, { low: t - 0.1, high: t + 0.2 }, 3);
    expect(statSync(file).mtimeMs).toBe(before);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    rewriteBundleReviewBand(file, null, 3);
    expect('reviewBand' in (await loadBundle(file)).meta).toBe(false);
    expect(readFileSync(file).equals(readFileSync(fx.modelPath))).toBe(true); // back to the very same file
  });

  it('refuses a missing or damaged file, naming the version and that the band was not changed', () => {
    expect(() => rewriteBundleReviewBand(join(tmp, 'gone.bgad'), null, 7)).toThrow(expect.objectContaining({ code: 'BAD_MODEL', message: expect.stringMatching(/version 7 .* is missing; the review band was not changed/) }));
    const damaged = join(tmp, 'damaged.bgad');
    writeFileSync(damaged, 'BGADMODL and then nothing useful at all, just text');
    expect(() => rewriteBundleReviewBand(damaged, { low: 1, high: 2 }, 8)).toThrow(expect.objectContaining({ code: 'BAD_MODEL' }));
  });

  it('is no part of what scores: the scoring hash stays, with a threshold change too', async () => {
    const a = await readModelSource(fx.bundle);
    const t = fx.bundle.meta.threshold;
    const banded = await readModelSource(withReviewBand(withThreshold(fx.bundle, t + 0.01), { low: t - 1, high: t + 1 }));
    expect(banded.sha256).not.toBe(a.sha256);
    expect(banded.scoringSha256).toBe(a.scoringSha256);
  });

  it('refuses a malformed band', () => {
    expect(() => withReviewBand(fx.bundle, { low: 2, high: 1 })).toThrow(BundleError);
    expect(() => withReviewBand(fx.bundle, { low: Number.NaN, high: 1 })).toThrow(/finite numbers with low < high/);
  });
});
