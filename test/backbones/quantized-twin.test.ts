import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../src-main/autodiff/onnx-proto';
import { FeatureExtractor } from '../../src-main/backbones/extractor';
import { getBackbone, zooInt8WithTaps } from '../../src-main/backbones/registry';
import { TEST_CACHE_DIR, ZOO_PRESENT, ZOO_SKIP_MESSAGE, meanPositionCosine, testImage } from './helpers';

describe('zoo MobileNetV2 int8 float twin', () => {
  if (!ZOO_PRESENT) {
    it.skip(ZOO_SKIP_MESSAGE, () => undefined);
    return;
  }

  it('contains no quantized operator and takes RGB in [0,1] with ImageNet normalisation inside', async () => {
    const spec = await getBackbone('zoo-mobilenetv2-int8', { cacheDir: TEST_CACHE_DIR });
    const { readFileSync } = await import('node:fs');
    const m = decodeModel(readFileSync(spec.onnxPath));
    const ops = new Set((m.graph!.node ?? []).map((n) => n.opType));
    expect([...ops].filter((o) => o.startsWith('QLinear') || o.endsWith('QuantizeLinear'))).toEqual([]);
    expect(ops.has('Conv')).toBe(true);
    expect(m.graph!.input!.map((i) => i.name)).toEqual(['image']);
    expect(m.graph!.output!.map((o) => o.name)).toEqual(['339', '365', '426']);
    expect(spec.normalization.mean).toEqual([0.485, 0.456, 0.406]);
  });

  it('matches the int8 model with cosine >= 0.97 at every tap', async () => {
    const spec = await getBackbone('zoo-mobilenetv2-int8', { cacheDir: TEST_CACHE_DIR });
    const twin = await FeatureExtractor.create(spec, { threads: 1 });
    const int8 = await ort.InferenceSession.create(await zooInt8WithTaps(), { intraOpNumThreads: 1 });
    try {
      for (const seed of [1, 2]) {
        const x = testImage(224, 224, seed);
        const ours = await twin.extractBatch(x, 1);
        const ref = await int8.run({ image: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
        const cos = spec.taps.map((t, k) => meanPositionCosine(ref[t.name]!.data as Float32Array, ours[k]!, t.channels));
        console.info(`twin vs int8 cosine (seed ${seed}):`, cos.map((c) => c.toFixed(4)).join(' '));
        for (const c of cos) expect(c).toBeGreaterThanOrEqual(0.97);
      }
    } finally {
      await twin.dispose();
      await int8.release();
    }
  });
});
