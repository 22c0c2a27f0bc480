import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureExtractor } from '../../src-main/backbones/extractor';
import { FeatureCache, featuresForImages, toHalf, type ImageFeatures } from '../../src-main/backbones/feature-cache';
import { getBackbone, type BackboneSpec } from '../../src-main/backbones/registry';
import { TEST_CACHE_DIR } from './helpers';

let dir: string;
let spec: BackboneSpec;
let extractor: FeatureExtractor;
const images: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-feature-cache-'));
  spec = await getBackbone('mobilenetv2', { cacheDir: TEST_CACHE_DIR });
  extractor = await FeatureExtractor.create(spec, { threads: 1 });
  for (let i = 0; i < 5; i++) {
    const p = join(dir, `img${i}.png`);
    const raw = Buffer.alloc(40 * 30 * 3);
    for (let k = 0; k < raw.length; k++) raw[k] = (k * (i + 3) * 7) & 255;
    writeFileSync(p, await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).png().toBuffer());
    images.push(p);
  }
});
afterAll(async () => {
  await extractor.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function collect(it: AsyncGenerator<ImageFeatures>): Promise<ImageFeatures[]> {
  const out: ImageFeatures[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('FeatureCache', () => {
  it('serves cache hits without running the backbone, in input order', async () => {
    const cache = new FeatureCache(join(dir, 'features-a'));
    const runs0 = extractor.runs;
    const first = await collect(featuresForImages(images, { extractor, cache, sizePx: 64, batchSize: 2 }));
    expect(extractor.runs - runs0).toBe(3); // 5 images in batches of 2
    expect(first.every((f) => !f.fromCache)).toBe(true);

    const runs1 = extractor.runs;
    const second = await collect(featuresForImages(images, { extractor, cache, sizePx: 64, batchSize: 2 }));
    expect(extractor.runs).toBe(runs1);
    expect(second.map((f) => f.fromCache)).toEqual([true, true, true, true, true]);
    expect(second.map((f) => f.path)).toEqual(images);
    expect(second[0]!.shapes).toEqual([{ channels: 24, height: 16, width: 16 }, { channels: 32, height: 8, width: 8 }, { channels: 96, height: 4, width: 4 }]);
    second.forEach((f, i) => {
      f.taps.forEach((t, k) => {
        const ref = first[i]!.taps[k]!;
        expect(t.length).toBe(ref.length);
        for (let j = 0; j < t.length; j++) expect(Math.abs(t[j]! - ref[j]!)).toBeLessThanOrEqual(Math.abs(ref[j]!) * 1e-3 + 1e-6);
      });
    });
  });

  it('runs the backbone only for the images that are not cached yet', async () => {
    const cache = new FeatureCache(join(dir, 'features-b'), 'float32');
    await collect(featuresForImages(images.slice(0, 2), { extractor, cache, sizePx: 64, batchSize: 8 }));
    const runs = extractor.runs;
    const all = await collect(featuresForImages(images, { extractor, cache, sizePx: 64, batchSize: 8 }));
    expect(extractor.runs - runs).toBe(1);
    expect(all.map((f) => f.fromCache)).toEqual([true, true, false, false, false]);
  });

  it('keys entries by image hash, backbone hash and input size', async () => {
    const cache = new FeatureCache(join(dir, 'features-c'), 'float32');
    const [f] = await collect(featuresForImages(images.slice(0, 1), { extractor, cache, sizePx: 64 }));
    expect(cache.get(f!.sha256, spec, 64)).not.toBeNull();
    expect(cache.get(f!.sha256, spec, 128)).toBeNull();
    expect(cache.get(f!.sha256, { ...spec, sha256: 'ab'.repeat(32) }, 64)).toBeNull();
    expect(cache.get('cd'.repeat(32), spec, 64)).toBeNull();
    // float32 storage is exact
    const got = cache.get(f!.sha256, spec, 64)!;
    expect(Array.from(got[2]!)).toEqual(Array.from(f!.taps[2]!));
  });

  it('keeps the features of one image at different input geometries apart (square, H x W, W x H)', async () => {
    const cache = new FeatureCache(join(dir, 'features-g'), 'float32');
    const tall = { height: 96, width: 64 }, wide = { height: 64, width: 96 };
    const [sq] = await collect(featuresForImages(images.slice(0, 1), { extractor, cache, sizePx: 64 }));
    const [t] = await collect(featuresForImages(images.slice(0, 1), { extractor, cache, sizePx: tall }));
    const [w] = await collect(featuresForImages(images.slice(0, 1), { extractor, cache, sizePx: wide }));
    // each geometry ran the backbone once: none was served the square entry
    expect([sq!.fromCache, t!.fromCache, w!.fromCache]).toEqual([false, false, false]);
    expect(t!.shapes[0]).toEqual({ channels: 24, height: 24, width: 16 });
    expect(w!.shapes[0]).toEqual({ channels: 24, height: 16, width: 24 });
    // three files in three folders ("64", "96x64", "64x96"), each read back with its own shapes
    const paths = [cache.pathFor(sq!.sha256, spec, 64), cache.pathFor(sq!.sha256, spec, tall), cache.pathFor(sq!.sha256, spec, wide)];
    expect(new Set(paths).size).toBe(3);
    expect(paths.map((p) => p.split(/[\\/]/).at(-3))).toEqual(['64', '96x64', '64x96']);
    expect(cache.getEntry(sq!.sha256, spec, tall)!.shapes[0]).toEqual(t!.shapes[0]);
    expect(cache.getEntry(sq!.sha256, spec, wide)!.shapes[0]).toEqual(w!.shapes[0]);
    // a 64x64 input asked as an explicit geometry is the square entry
    const again = await collect(featuresForImages(images.slice(0, 1), { extractor, cache, sizePx: { height: 64, width: 64 } }));
    expect(again[0]!.fromCache).toBe(true);
    // an entry moved into another geometry's place is refused (its header names its own geometry)
    writeFileSync(paths[2]!, readFileSync(paths[1]!));
    expect(cache.getEntry(sq!.sha256, spec, wide)).toBeNull();
  });

  it('treats a damaged entry as a miss', async () => {
    const cache = new FeatureCache(join(dir, 'features-d'));
    const [f] = await collect(featuresForImages(images.slice(0, 1), { extractor, cache, sizePx: 64 }));
    const p = cache.pathFor(f!.sha256, spec, 64);
    writeFileSync(p, Buffer.alloc(100, 7));
    expect(cache.get(f!.sha256, spec, 64)).toBeNull();
  });

  it('stays valid when two writers fill the same entry at once and leaves no temp files', async () => {
    const a = new FeatureCache(join(dir, 'features-e'));
    const b = new FeatureCache(join(dir, 'features-e'));
    const sha = 'ef'.repeat(32);
    const shapes = spec.taps.map((t) => ({ channels: t.channels, height: 4, width: 4 }));
    const taps = shapes.map((s, k) => Float32Array.from({ length: s.channels * 16 }, (_, i) => (i % 13) * 0.25 + k));
    await Promise.all([a.put(sha, spec, taps, shapes, 64), b.put(sha, spec, taps, shapes, 64), a.put(sha, spec, taps, shapes, 64)]);
    const got = b.get(sha, spec, 64)!;
    expect(Array.from(got[1]!)).toEqual(Array.from(taps[1]!));
    const folder = dirname(a.pathFor(sha, spec, 64));
    expect(readdirSync(folder)).toEqual([`${sha}.bin`]);
    expect(existsSync(a.pathFor(sha, spec, 64))).toBe(true);
  });

  it('rounds float32 to the nearest float16 and saturates large values', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7bff);
    expect(toHalf(0)).toBe(0);
    expect(toHalf(5.960464477539063e-8)).toBe(1); // smallest subnormal
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
});
