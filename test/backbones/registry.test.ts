import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FeatureExtractor } from '../../src-main/backbones/extractor';
import { appModelsDir, appRoot, defaultBackboneId, defaultModelsDir, getBackbone, listBackbones, modelsDirCandidates, strideMatches, ZOO_INT8_FILE, type BackboneSpec } from '../../src-main/backbones/registry';
import backbonesCmd from '../../src-main/cli/commands/backbones';
import { TEST_CACHE_DIR, ZOO_PRESENT, ZOO_SKIP_MESSAGE, testImage } from './helpers';

const extractors: FeatureExtractor[] = [];
afterAll(async () => {
  for (const e of extractors) await e.dispose();
});

async function extractor(spec: BackboneSpec): Promise<FeatureExtractor> {
  const e = await FeatureExtractor.create(spec, { threads: 1 });
  extractors.push(e);
  return e;
}

describe('listBackbones', () => {
  it('lists the built-in backbones with their availability', () => {
    const ids = listBackbones({ cacheDir: TEST_CACHE_DIR }).map((b) => b.id);
    expect(ids).toEqual(['mobilenetv2', 'inceptionv3', 'inceptionv3-lite', 'zoo-mobilenetv2-int8']);
  });

  it('marks the zoo backbone unavailable with a reason when its file is absent', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'bgad-no-models-'));
    try {
      const zoo = listBackbones({ cacheDir: TEST_CACHE_DIR, modelsDir: empty }).find((b) => b.id === 'zoo-mobilenetv2-int8')!;
      expect(zoo.available).toBe(false);
      expect(zoo.reason).toContain('mobilenetv2-12-int8.onnx');
      await expect(getBackbone('zoo-mobilenetv2-int8', { cacheDir: TEST_CACHE_DIR, modelsDir: empty })).rejects.toMatchObject({ code: 'UNAVAILABLE', hint: expect.stringContaining('BGAD_MODELS_DIR') });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('the default backbone', () => {
  const withModelsDir = <T>(fn: (dir: string) => T): T => {
    const dir = mkdtempSync(join(tmpdir(), 'bgad-models-'));
    try {
      return fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('is inceptionv3-lite (npm, every installation) where the zoo model file is absent', () => {
    withModelsDir((dir) => expect(defaultBackboneId({ cacheDir: TEST_CACHE_DIR, modelsDir: dir })).toBe('inceptionv3-lite'));
  });

  it('ignores a damaged zoo file: unavailable with the sha256 named, and the default stays inceptionv3-lite', () => {
    withModelsDir((dir) => {
      mkdirSync(join(dir, 'mobilenetv2-12-int8'));
      writeFileSync(join(dir, ZOO_INT8_FILE), 'not the model');
      const zoo = listBackbones({ cacheDir: TEST_CACHE_DIR, modelsDir: dir }).find((b) => b.id === 'zoo-mobilenetv2-int8')!;
      expect(zoo.available).toBe(false);
      expect(zoo.reason).toMatch(/sha256 [0-9a-f]{64}, not the expected/);
      expect(defaultBackboneId({ cacheDir: TEST_CACHE_DIR, modelsDir: dir })).toBe('inceptionv3-lite');
    });
  });

  it.skipIf(!ZOO_PRESENT)('is the zoo model where its verified file is present (found through BGAD_MODELS_DIR)', () => {
    withModelsDir((dir) => {
      mkdirSync(join(dir, 'mobilenetv2-12-int8'));
      copyFileSync(join(defaultModelsDir(), ZOO_INT8_FILE), join(dir, ZOO_INT8_FILE));
      const before = process.env.BGAD_MODELS_DIR;
      process.env.BGAD_MODELS_DIR = dir;
      try {
        expect(modelsDirCandidates()[0]).toBe(dir);
        expect(defaultModelsDir()).toBe(dir);
        expect(defaultBackboneId()).toBe('zoo-mobilenetv2-int8');
        expect(defaultBackboneId({ modelsDir: dir })).toBe('zoo-mobilenetv2-int8');
      } finally {
        if (before === undefined) delete process.env.BGAD_MODELS_DIR;
        else process.env.BGAD_MODELS_DIR = before;
      }
    });
  });
  if (!ZOO_PRESENT) it.skip(ZOO_SKIP_MESSAGE, () => {});

  it('is shown by `bgad backbones`, with the reason an unavailable one cannot be used', async () => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), progress: () => {} };
    const before = process.env.BGAD_MODELS_DIR;
    withModelsDir((dir) => (process.env.BGAD_MODELS_DIR = dir));
    try {
      // the env folder is gone: when ../shared is absent too, the zoo entry says why
      expect(await backbonesCmd.run({ values: { json: true }, positionals: [] }, io)).toBe(0);
      const out = JSON.parse(lines.join('\n')) as { default: string; backbones: { id: string; available: boolean; reason?: string }[] };
      expect(out.default).toBe(ZOO_PRESENT ? 'zoo-mobilenetv2-int8' : 'inceptionv3-lite');
      expect(out.backbones.map((b) => b.id)).toEqual(['mobilenetv2', 'inceptionv3', 'inceptionv3-lite', 'zoo-mobilenetv2-int8']);
      lines.length = 0;
      expect(await backbonesCmd.run({ values: {}, positionals: [] }, io)).toBe(0);
      expect(lines.find((l) => l.startsWith(out.default))).toMatch(/\(default\)\s+available/);
      if (!ZOO_PRESENT) expect(lines.join('\n')).toMatch(/why: the model file .*mobilenetv2-12-int8\.onnx is not on this machine/);
    } finally {
      if (before === undefined) delete process.env.BGAD_MODELS_DIR;
      else process.env.BGAD_MODELS_DIR = before;
    }
  });
});

describe("the app's own models folder", () => {
  it('is <repo>/resources/models in a checkout, also when Electron runs the checkout', () => {
    const repo = resolve('/work', 'bgad-inspector');
    expect(appModelsDir(repo, undefined)).toBe(join(repo, 'resources', 'models'));
    expect(appModelsDir(repo, join(repo, 'node_modules', 'electron', 'dist', 'resources'))).toBe(join(repo, 'resources', 'models'));
    expect(appModelsDir()).toBe(join(appRoot(), 'resources', 'models'));
  });

  it('is <resources>/models beside app.asar in a packaged app (electron-builder extraResources)', () => {
    const res = resolve('/opt', 'BGAD Inspector', 'resources');
    expect(appModelsDir(join(res, 'app.asar'), res)).toBe(join(res, 'models'));
    expect(appModelsDir(join(res, 'app'), res)).toBe(join(res, 'models')); // asar: false
    expect(appModelsDir(join(res, 'app.asar'), undefined)).toBe(join(res, 'models')); // no process.resourcesPath
    const win = 'C:\\Program Files\\BGAD Inspector\\resources';
    expect(appModelsDir(`${win}\\app.asar`, undefined)).toBe(join(win, 'models'));
  });

  it('is searched after BGAD_MODELS_DIR and the data folder, before ../shared/models', () => {
    const before = process.env.BGAD_MODELS_DIR;
    process.env.BGAD_MODELS_DIR = resolve('/elsewhere', 'models');
    try {
      const dirs = modelsDirCandidates();
      expect(dirs).toHaveLength(4);
      expect(dirs[0]).toBe(resolve('/elsewhere', 'models'));
      expect(dirs[2]).toBe(appModelsDir());
      expect(dirs[3]).toBe(resolve(appRoot(), '..', 'shared', 'models'));
    } finally {
      if (before === undefined) delete process.env.BGAD_MODELS_DIR;
      else process.env.BGAD_MODELS_DIR = before;
    }
  });
});

describe('getBackbone', () => {
  it('rejects an unknown backbone id naming the choices', async () => {
    await expect(getBackbone('resnet9000', { cacheDir: TEST_CACHE_DIR })).rejects.toMatchObject({ code: 'BAD_BACKBONE', hint: expect.stringContaining('mobilenetv2') });
  });

  it('converts once into the cache and reuses the file with the same content hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgad-bb-cache-'));
    try {
      const a = await getBackbone('mobilenetv2', { cacheDir: dir });
      expect(a.onnxPath.startsWith(dir)).toBe(true);
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
      const again = await getBackbone('mobilenetv2', { cacheDir: dir });
      expect(again.sha256).toBe(a.sha256);
      const elsewhere = await getBackbone('mobilenetv2', { cacheDir: TEST_CACHE_DIR });
      expect(elsewhere.sha256).toBe(a.sha256); // the conversion is deterministic
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives MobileNetV2 maps of exactly size/stride at 128, 224 and 256 px', async () => {
    const spec = await getBackbone('mobilenetv2', { cacheDir: TEST_CACHE_DIR });
    expect(spec.taps.map((t) => [t.stride, t.channels])).toEqual([[4, 24], [8, 32], [16, 96]]);
    const e = await extractor(spec);
    for (const size of [128, 224, 256]) {
      const shapes = await e.tapShapes(size);
      expect(shapes).toEqual(spec.taps.map((t) => ({ channels: t.channels, height: size / t.stride, width: size / t.stride })));
    }
  });

  it('gives InceptionV3 maps near size/stride (valid padding) at 128, 224 and 256 px', async () => {
    const spec = await getBackbone('inceptionv3', { cacheDir: TEST_CACHE_DIR });
    const e = await extractor(spec);
    expect(await e.tapShapes(256)).toEqual([
      { channels: 192, height: 60, width: 60 },
      { channels: 288, height: 29, width: 29 },
      { channels: 768, height: 14, width: 14 },
    ]);
    for (const size of [128, 224]) {
      const shapes = await e.tapShapes(size);
      shapes.forEach((s, k) => {
        expect(s.channels).toBe(spec.taps[k]!.channels);
        expect(strideMatches(size / s.height, spec.taps[k]!.stride)).toBe(true);
      });
    }
  });

  it('gives non-square inputs the maps the graph really makes: each side as at that square size (InceptionV3 valid padding, MobileNetV2)', async () => {
    for (const id of ['inceptionv3', 'mobilenetv2']) {
      const spec = await getBackbone(id, { cacheDir: TEST_CACHE_DIR });
      const e = await extractor(spec);
      const tall = await e.tapShapes({ height: 256, width: 64 });
      const [at256, at64] = [await e.tapShapes(256), await e.tapShapes(64)];
      expect(tall, id).toEqual(at256.map((s, k) => ({ channels: s.channels, height: s.height, width: at64[k]!.width })));
      if (id === 'inceptionv3') expect(tall[0]).toEqual({ channels: 192, height: 60, width: 12 }); // not 256/4 x 64/4
      // the real extraction gives the shapes tapShapes promised
      const out = await e.extractBatchWithShapes(new Float32Array(3 * 256 * 64).fill(0.5), 1, { height: 256, width: 64 });
      expect(out.shapes).toEqual(tall);
    }
  });

  it.skipIf(!ZOO_PRESENT)('gives the zoo float twin maps of size/stride at 128, 224 and 256 px', async () => {
    const spec = await getBackbone('zoo-mobilenetv2-int8', { cacheDir: TEST_CACHE_DIR });
    const e = await extractor(spec);
    for (const size of [128, 224, 256]) {
      expect(await e.tapShapes(size)).toEqual(spec.taps.map((t) => ({ channels: t.channels, height: size / t.stride, width: size / t.stride })));
    }
  });
  if (!ZOO_PRESENT) it.skip(ZOO_SKIP_MESSAGE, () => undefined);

  it('returns one NCHW array per tap for a batch, each image independent of its neighbours', async () => {
    const spec = await getBackbone('mobilenetv2', { cacheDir: TEST_CACHE_DIR });
    const e = await extractor(spec);
    const a = testImage(64, 64, 1);
    const b = testImage(64, 64, 2);
    const both = new Float32Array(a.length * 2);
    both.set(a);
    both.set(b, a.length);
    const batch = await e.extractBatch(both, 2);
    const single = await e.extractBatch(b, 1);
    batch.forEach((t, k) => {
      expect(t.length).toBe(2 * single[k]!.length);
      const second = t.subarray(single[k]!.length);
      let maxDiff = 0;
      for (let i = 0; i < second.length; i++) maxDiff = Math.max(maxDiff, Math.abs(second[i]! - single[k]![i]!));
      expect(maxDiff).toBeLessThan(1e-4);
    });
    await expect(e.extractBatch(new Float32Array(10), 1)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
