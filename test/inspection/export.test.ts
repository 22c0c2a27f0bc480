import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildInspectionOnnx, checkOpsetUpgrade, exportModel, HEAD_PREFIX } from '../../src-main/inspection/export';
import { openInspectionModel, type InspectionModel } from '../../src-main/model/scorer';
import { decodeModel } from '../../src-main/autodiff/onnx-proto';
import { loadImageTensor } from '../../src-main/images/load';
import { getFixture, removeDir, tempDir, type Fixture } from './fixture';

let fx: Fixture;
let root: string;
let model: InspectionModel;
beforeAll(async () => {
  fx = await getFixture();
  root = tempDir('bgad-export-');
  model = await openInspectionModel(fx.modelPath, { threads: 2 });
}, 180_000);
afterAll(async () => {
  await model?.dispose();
  removeDir(root);
});

describe('the exported inspection model', () => {
  it('reproduces the app scores and maps on the synthetic test set (max abs diff <= 1e-4)', async () => {
    const { path } = await exportModel({ model: fx.modelPath, out: join(root, 'm.onnx') });
    // a plain session: nothing of the project is involved in running it
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2 });
    const S = 256;
    const files = readdirSync(fx.testDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
    expect(files.length).toBe(30);
    let maxMap = 0, maxScore = 0;
    for (let b = 0; b < files.length; b += 6) {
      const part = files.slice(b, b + 6);
      const imgs = await Promise.all(part.map((f) => loadImageTensor(f, S)));
      const batch = new Float32Array(part.length * 3 * S * S);
      imgs.forEach((im, j) => batch.set(im.chw, j * 3 * S * S));
      const out = await session.run({ image: new ort.Tensor('float32', batch, [part.length, 3, S, S]) });
      expect(out.anomaly_map!.dims).toEqual([part.length, 1, S, S]);
      const maps = out.anomaly_map!.data as Float32Array;
      const scores = out.pred_score!.data as Float32Array;
      for (let j = 0; j < part.length; j++) {
        const [app] = await model.score(imgs[j]!.chw, 1);
        maxScore = Math.max(maxScore, Math.abs(app!.score - scores[j]!));
        for (let i = 0; i < S * S; i++) maxMap = Math.max(maxMap, Math.abs(app!.map[i]! - maps[j * S * S + i]!));
      }
    }
    await session.release();
    expect(maxScore).toBeLessThanOrEqual(1e-4);
    expect(maxMap).toBeLessThanOrEqual(1e-4);
  }, 120_000);

  it('carries threshold, input size, normalisation and the model hash in its metadata, at one opset', async () => {
    const m = await buildInspectionOnnx(fx.modelPath);
    const onnx = decodeModel(m.bytes);
    const props = Object.fromEntries((onnx.metadataProps ?? []).map((p) => [p.key, p.value]));
    expect(Number(props.threshold)).toBe(fx.bundle.meta.threshold);
    expect(props.input_size).toBe('256');
    expect(JSON.parse(props.normalization!)).toMatchObject({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(props.model_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(props.backbone).toBe(fx.bundle.meta.backbone.id);
    expect(onnx.opsetImport).toEqual([{ version: 18 }]);
    const g = onnx.graph!;
    expect(g.input!.map((i) => i.name)).toEqual(['image']);
    expect(g.output!.map((o) => o.name)).toEqual(['anomaly_map', 'pred_score']);
    // head tensors are prefixed; its feature inputs are the backbone's tap tensors
    const headNodes = g.node!.filter((n) => n.name?.startsWith(HEAD_PREFIX));
    expect(headNodes.length).toBeGreaterThan(10);
    expect(g.node!.flatMap((n) => n.input ?? []).some((i) => /^feat_\d$/.test(i))).toBe(false);
    expect(headNodes.some((n) => n.input!.includes('block_2_add'))).toBe(true);
  });

  it('refuses to raise a graph whose operators changed meaning between the opsets', () => {
    const graph = { node: [{ opType: 'ReduceMean', input: ['x'], output: ['y'], attribute: [{ name: 'axes', ints: [1] }] }, { opType: 'Conv', input: ['y', 'w'], output: ['z'] }] };
    expect(() => checkOpsetUpgrade(graph, 13, 18, 'backbone')).toThrow(/ReduceMean/);
    expect(() => checkOpsetUpgrade(graph, 18, 19, 'backbone')).not.toThrow();
    expect(() => checkOpsetUpgrade({ node: [{ opType: 'Conv' }, { opType: 'Clip' }, { opType: 'Add' }] }, 13, 18, 'backbone')).not.toThrow();
  });
});
