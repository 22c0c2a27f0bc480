import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../src-main/autodiff/onnx-proto';
import { FeatureExtractor } from '../../src-main/backbones/extractor';
import { GraphBuilder, attr, floatTensor, modelFromGraph } from '../../src-main/backbones/onnx-graph';
import { loadUserBackbone, type UserBackboneJson } from '../../src-main/backbones/registry';

let dir: string;

/**
 * A small "exported elsewhere" network: fixed 1x3x64x64 input named `data`, features at
 * strides 4 (8 ch), 8 (12 ch) and 16 (16 ch), then a classifier head that must be pruned.
 */
function userModelBytes(): Uint8Array {
  const g = new GraphBuilder();
  let seed = 3;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.5);
  const conv = (x: string, cin: number, cout: number, stride: number, out: string) => {
    const w = g.init(floatTensor(`${out}_w`, rand(cout * cin * 9), [cout, cin, 3, 3]));
    g.node('Conv', [x, w], [`${out}_pre`], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [stride, stride]), attr.ints('pads', [1, 1, 1, 1])]);
    g.node('Relu', [`${out}_pre`], [out]);
  };
  conv('data', 3, 8, 4, 'feat4');
  conv('feat4', 8, 12, 2, 'feat8');
  conv('feat8', 12, 16, 2, 'feat16');
  g.node('GlobalAveragePool', ['feat16'], ['pooled']);
  g.node('Flatten', ['pooled'], ['flat']);
  const fc = g.init(floatTensor('fc_w', rand(16 * 10), [16, 10]));
  g.node('MatMul', ['flat', fc], ['logits']);
  const model = modelFromGraph(
    {
      name: 'user',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: 'data', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 64 }, { dimValue: 64 }] } } } }],
      output: [{ name: 'logits', type: { tensorType: { elemType: 1 } } }],
    },
    { opset: 13, producer: 'test' },
  );
  return encodeModel(model);
}

const goodSpec = (): UserBackboneJson => ({
  id: 'tiny-net',
  onnx: 'tiny.onnx',
  inputSize: 128,
  taps: [
    { name: 'feat4', stride: 4, channels: 8 },
    { name: 'feat8', stride: 8, channels: 12 },
    { name: 'feat16', stride: 16, channels: 16 },
  ],
  normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
});

function writeSpec(name: string, spec: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return p;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-user-bb-'));
  writeFileSync(join(dir, 'tiny.onnx'), userModelBytes());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('user backbones from an ONNX file and a tap spec JSON', () => {
  it('prunes the classifier, makes the input symbolic and runs at other sizes', async () => {
    const spec = await loadUserBackbone(writeSpec('ok.json', goodSpec()), { cacheDir: join(dir, 'cache') });
    expect(spec).toMatchObject({ id: 'tiny-net', inputSize: 128, inputName: 'image' });
    const m = decodeModel(readFileSync(spec.onnxPath));
    expect(m.graph!.output!.map((o) => o.name)).toEqual(['feat4', 'feat8', 'feat16']);
    expect((m.graph!.node ?? []).some((n) => n.opType === 'MatMul' || n.opType === 'GlobalAveragePool')).toBe(false);
    expect(m.graph!.input!.map((i) => i.name)).toEqual(['image']);
    const e = await FeatureExtractor.create(spec, { threads: 1 });
    try {
      expect(await e.tapShapes(256)).toEqual([
        { channels: 8, height: 64, width: 64 },
        { channels: 12, height: 32, width: 32 },
        { channels: 16, height: 16, width: 16 },
      ]);
      const out = await e.extractBatch(new Float32Array(2 * 3 * 96 * 96).fill(0.3), 2);
      expect(out[0]!.length).toBe(2 * 8 * 24 * 24);
    } finally {
      await e.dispose();
    }
  });

  it('rejects a tap naming a tensor that is not in the graph', async () => {
    const s = goodSpec();
    s.taps[1]!.name = 'feat_eight';
    await expect(loadUserBackbone(writeSpec('unknown.json', s), { cacheDir: join(dir, 'cache') })).rejects.toMatchObject({
      code: 'BAD_BACKBONE',
      message: expect.stringContaining('Tap feat_eight of backbone tiny-net is not a tensor'),
    });
  });

  it('rejects a tap whose stride is wrong and suggests the right one', async () => {
    const s = goodSpec();
    s.taps[2]!.stride = 8;
    await expect(loadUserBackbone(writeSpec('stride.json', s), { cacheDir: join(dir, 'cache') })).rejects.toMatchObject({
      code: 'BAD_BACKBONE',
      message: expect.stringContaining('not stride 8'),
      hint: expect.stringContaining('"stride": 16'),
    });
  });

  it('rejects a tap whose channel count is wrong and gives the measured count', async () => {
    const s = goodSpec();
    s.taps[0]!.channels = 24;
    await expect(loadUserBackbone(writeSpec('channels.json', s), { cacheDir: join(dir, 'cache') })).rejects.toMatchObject({
      code: 'BAD_BACKBONE',
      message: expect.stringContaining('has 8 channels, the spec says 24'),
    });
  });

  it('rejects malformed specs: bad JSON, a missing ONNX file and a bad normalisation', async () => {
    await expect(loadUserBackbone(writeSpec('broken.json', '{ "id": '), { cacheDir: join(dir, 'cache') })).rejects.toMatchObject({ code: 'BAD_BACKBONE', message: expect.stringContaining('not valid JSON') });
    await expect(loadUserBackbone(writeSpec('missing.json', { ...goodSpec(), onnx: 'nope.onnx' }), { cacheDir: join(dir, 'cache') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(loadUserBackbone(writeSpec('norm.json', { ...goodSpec(), normalization: { mean: [0, 0], std: [1, 1, 1] } }), { cacheDir: join(dir, 'cache') })).rejects.toMatchObject({ code: 'BAD_BACKBONE', message: expect.stringContaining('normalization') });
    await expect(loadUserBackbone(writeSpec('builtin.json', { ...goodSpec(), id: 'mobilenetv2' }), { cacheDir: join(dir, 'cache') })).rejects.toMatchObject({ code: 'BAD_BACKBONE', message: expect.stringContaining('taken') });
  });
});
