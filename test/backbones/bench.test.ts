import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { benchBackbones, chooseDefault, findImages, type BackboneBenchEntry } from '../../src-main/backbones/bench';
import { TEST_CACHE_DIR } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'bgad-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (id: string, ms: number, img: number | null, px: number | null): BackboneBenchEntry => ({
  id, msPerImage: ms, batchSize: 1, msPerImageBatch1: ms, msPerImageBatch8: ms, imageAuroc: img, pixelAuroc: px,
});

describe('benchBackbones', () => {
  it('times every available backbone, calls the AUROC hook and writes the JSON', async () => {
    const good = join(dir, 'data', 'train', 'good');
    mkdirSync(good, { recursive: true });
    mkdirSync(join(dir, 'data', 'ground_truth', 'crack'), { recursive: true });
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(good, `${i}.png`), await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } }).png().toBuffer());
    }
    writeFileSync(join(dir, 'data', 'ground_truth', 'crack', 'x_mask.png'), await sharp({ create: { width: 5, height: 5, channels: 3, background: '#000' } }).png().toBuffer());
    expect(findImages(join(dir, 'data'), 10).map((p) => p.slice(good.length + 1))).toEqual(['0.png', '1.png', '2.png']);

    const evaluated: string[] = [];
    const json = join(dir, 'out', 'bench.json');
    const res = await benchBackbones({
      dataDir: join(dir, 'data'), images: 3, sizePx: 64, threads: 1, json, cacheDir: TEST_CACHE_DIR,
      evaluate: async (id) => {
        evaluated.push(id);
        return id === 'mobilenetv2' ? { imageAuroc: 0.9, pixelAuroc: 0.95 } : null;
      },
    });
    const ids = res.backbones.map((b) => b.id);
    expect(ids).toContain('mobilenetv2');
    expect(ids).toContain('inceptionv3');
    expect(evaluated).toEqual(ids);
    for (const b of res.backbones) {
      expect(b.msPerImage).toBeGreaterThan(0);
      expect(b.msPerImage).toBe(Math.min(b.msPerImageBatch1, b.msPerImageBatch8));
    }
    expect(res.backbones.find((b) => b.id === 'mobilenetv2')).toMatchObject({ imageAuroc: 0.9, pixelAuroc: 0.95 });
    expect(res.default).toBe('mobilenetv2');
    const written = JSON.parse(readFileSync(json, 'utf8'));
    expect(written.default).toBe(res.default);
    expect(written.backbones[0]).toHaveProperty('msPerImage');
  });

  it('measures only the backbones named, and names the choices for an unknown one', async () => {
    const res = await benchBackbones({ dataDir: join(dir, 'data'), images: 2, sizePx: 64, threads: 1, cacheDir: TEST_CACHE_DIR, only: ['inceptionv3-lite'] });
    expect(res.backbones.map((b) => b.id)).toEqual(['inceptionv3-lite']);
    await expect(benchBackbones({ dataDir: join(dir, 'data'), cacheDir: TEST_CACHE_DIR, only: ['resnet9000'] })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('resnet9000'), hint: expect.stringContaining('inceptionv3-lite') });
  });

  it('rejects a folder without images', async () => {
    mkdirSync(join(dir, 'empty'), { recursive: true });
    await expect(benchBackbones({ dataDir: join(dir, 'empty'), cacheDir: TEST_CACHE_DIR })).rejects.toMatchObject({ code: 'BAD_DATASET' });
  });
});

describe('chooseDefault', () => {
  it('counts AUPRO where measured: the zoo MobileNetV2 (0.821 / 0.760 / 0.750) over inceptionv3-lite (0.830 / 0.797 / 0.667), as on magnetic_tile', () => {
    const lite = { ...entry('inceptionv3-lite', 20, 0.83, 0.797), aupro: 0.667 };
    const zoo = { ...entry('zoo-mobilenetv2-int8', 5, 0.821, 0.76), aupro: 0.75 };
    expect(chooseDefault([lite, zoo])).toBe('zoo-mobilenetv2-int8');
    expect(chooseDefault([{ ...lite, aupro: null }, { ...zoo, aupro: null }])).toBe('inceptionv3-lite');
  });

  it('prefers accuracy, then speed, within the 40 ms budget', () => {
    expect(chooseDefault([entry('a', 10, 0.9, 0.9), entry('b', 30, 0.95, 0.95), entry('c', 80, 0.99, 0.99)])).toBe('b');
    expect(chooseDefault([entry('a', 10, 0.95, 0.95), entry('b', 30, 0.952, 0.951)])).toBe('a');
  });

  it('leaves out a backbone whose fast-preset training is over 10 minutes or 4 GB', () => {
    const slow = { ...entry('inceptionv3', 27, 0.9, 0.9), trainMinutes: 40, peakGb: 5 };
    const big = { ...entry('huge', 20, 0.95, 0.95), trainMinutes: 8, peakGb: 6 };
    const ok = { ...entry('mobilenetv2', 5, 0.7, 0.7), trainMinutes: 4.5, peakGb: 1.3 };
    expect(chooseDefault([slow, big, ok])).toBe('mobilenetv2');
    expect(chooseDefault([{ ...slow, trainMinutes: 9, peakGb: 3.9 }, ok])).toBe('inceptionv3');
  });

  it('keeps the built-in default when no AUROC was measured', () => {
    expect(chooseDefault([entry('inceptionv3', 30, null, null), entry('mobilenetv2', 5, null, null)])).toBe('mobilenetv2');
  });
});
