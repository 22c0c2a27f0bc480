import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../../src-main/autodiff/onnx-proto';
import { convertKerasToOnnx } from '../../src-main/backbones/keras-to-onnx';
import { loadNsfwjsModel, type KerasModelFiles, type NsfwjsModelName } from '../../src-main/backbones/nsfwjs-source';
import { testImage } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The same Keras model run by tfjs (its own weight decoding, padding and layer code), cut at the taps. */
async function tfjsReference(files: KerasModelFiles, taps: string[]): Promise<tf.LayersModel> {
  const topology = structuredClone(files.artifact.modelTopology) as unknown as {
    model_config: { config: { layers: { name: string; config: Record<string, unknown>; inbound_nodes: [string][][] }[]; output_layers?: unknown } };
  };
  const layers = topology.model_config.config.layers;
  layers[0]!.config.batch_input_shape = [null, null, null, 3];
  const byName = new Map(layers.map((l) => [l.name, l]));
  const needed = new Set<string>();
  const stack = [...taps];
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    for (const e of byName.get(n)!.inbound_nodes[0] ?? []) stack.push(e[0]);
  }
  topology.model_config.config.layers = layers.filter((l) => needed.has(l.name));
  topology.model_config.config.output_layers = taps.map((t) => [t, 0, 0]);
  const weightSpecs = files.artifact.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
  const weightData = files.weightData.slice().buffer;
  return tf.loadLayersModel({ load: async () => ({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'], weightSpecs, weightData }) }, { strict: false });
}

async function compare(name: NsfwjsModelName, taps: string[], height: number, width: number): Promise<{ tap: string; maxAbsDiff: number; maxAbs: number; dims: readonly number[] }[]> {
  const files = loadNsfwjsModel(name);
  const onnx = encodeModel(convertKerasToOnnx(files, { taps, inputName: 'image' }));
  const x = testImage(height, width, 7);
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const ours = await session.run({ image: new ort.Tensor('float32', x, [1, 3, height, width]) });
  await session.release();
  const ref = await tfjsReference(files, taps);
  const refOut = tf.tidy(() => {
    const nhwc = tf.tensor4d(x, [1, 3, height, width]).transpose([0, 2, 3, 1]);
    const outs = ref.predict(nhwc) as tf.Tensor[];
    return outs.map((o) => o.transpose([0, 3, 1, 2]));
  });
  const result = taps.map((tap, k) => {
    const r = refOut[k]!.dataSync();
    const o = ours[tap]!;
    expect(o.dims).toEqual(refOut[k]!.shape);
    const d = o.data as Float32Array;
    let maxAbsDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < r.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(r[i]! - d[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(r[i]!));
    }
    return { tap, maxAbsDiff, maxAbs, dims: o.dims };
  });
  refOut.forEach((t) => t.dispose());
  ref.dispose();
  return result;
}

describe('Keras to ONNX conversion', () => {
  it('matches tfjs on MobileNetV2 taps at a non-square odd input size', async () => {
    const res = await compare('mobilenet_v2', ['block_2_add', 'block_5_add', 'block_10_project_BN'], 97, 83);
    console.info('mobilenetv2 vs tfjs', JSON.stringify(res));
    expect(res.map((r) => r.dims[1])).toEqual([24, 32, 96]);
    for (const r of res) {
      expect(r.maxAbs).toBeGreaterThan(0.1);
      expect(r.maxAbsDiff / r.maxAbs).toBeLessThan(1e-4);
    }
  });

  it('matches tfjs on InceptionV3 taps through mixed5', async () => {
    const res = await compare('inception_v3', ['activation_5', 'mixed2', 'mixed5'], 99, 91);
    console.info('inceptionv3 vs tfjs', JSON.stringify(res));
    expect(res.map((r) => r.dims[1])).toEqual([192, 288, 768]);
    for (const r of res) {
      expect(r.maxAbs).toBeGreaterThan(0.1);
      expect(r.maxAbsDiff / r.maxAbs).toBeLessThan(1e-4);
    }
  });

  it('keeps only the frozen layers (no trainable layer is converted)', () => {
    for (const [name, taps] of [['mobilenet_v2', ['block_10_project_BN']], ['inception_v3', ['mixed5']]] as const) {
      const files = loadNsfwjsModel(name);
      const model = convertKerasToOnnx(files, { taps: [...taps] });
      const trainable = new Set(files.artifact.modelTopology.model_config.config.layers.filter((l) => l.config.trainable === true).map((l) => l.name));
      const used = (model.graph!.node ?? []).map((n) => n.name ?? '').filter((n) => trainable.has(n));
      expect(used).toEqual([]);
    }
  });

  it('matches tfjs on stride-2 same padding, pooling, unfolded batch norm and padding taps at odd sizes', async () => {
    // A small functional model exercising the layer types and padding rules that the nsfwjs
    // models do not: 'same' at stride 2 (TF pads more at the bottom/right), depthwise multiplier 2,
    // same-padded max/avg pooling, BatchNormalization not after a convolution, a ZeroPadding2D tap.
    const input = tf.input({ shape: [null, null, 3] as unknown as number[], name: 'inp' });
    const c1 = tf.layers.conv2d({ name: 'c1', filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: true }).apply(input) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn', epsilon: 1e-3 }).apply(tf.layers.reLU({ name: 'r6', maxValue: 6 }).apply(c1) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const dw = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: [3, 2], strides: 2, padding: 'same', depthMultiplier: 2, useBias: true, activation: 'relu' }).apply(bn) as tf.SymbolicTensor;
    const mp = tf.layers.maxPooling2d({ name: 'mp', poolSize: 3, strides: 2, padding: 'same' }).apply(bn) as tf.SymbolicTensor;
    const ap = tf.layers.averagePooling2d({ name: 'ap', poolSize: 3, strides: 1, padding: 'same' }).apply(mp) as tf.SymbolicTensor;
    const cat = tf.layers.concatenate({ name: 'cat', axis: -1 }).apply([dw, ap]) as tf.SymbolicTensor;
    const pad = tf.layers.zeroPadding2d({ name: 'pad', padding: [[1, 2], [0, 1]] }).apply(cat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [cat, pad] });
    // Non-trivial batch-norm statistics.
    model.getLayer('bn').setWeights([
      tf.tensor1d([1.5, 0.5, 1, 2, 0.7, 1.1]), tf.tensor1d([0.1, -0.2, 0.3, 0, 0.05, -0.1]),
      tf.tensor1d([0.2, 0.1, -0.3, 0.4, 0, 0.3]), tf.tensor1d([0.5, 2, 1, 0.3, 1.2, 0.8]),
    ]);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const specs = artifacts!.weightSpecs!;
    const data = new Float32Array(artifacts!.weightData as ArrayBuffer);
    const weights = new Map<string, { shape: number[]; data: Float32Array }>();
    let off = 0;
    for (const w of specs) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      weights.set(w.name, { shape: w.shape, data: data.slice(off, off + n) });
      off += n;
    }
    const topology = artifacts!.modelTopology as { config: { layers: unknown[] } };
    const files = {
      artifact: { modelTopology: { model_config: { class_name: 'Model', config: topology.config } }, weightsManifest: [] },
      weightData: new Uint8Array(0),
      weights,
    } as unknown as KerasModelFiles;
    const onnx = encodeModel(convertKerasToOnnx(files, { taps: ['cat', 'pad'], inputName: 'image' }));
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
    for (const [h, w] of [[17, 23], [16, 16], [21, 10]] as const) {
      const x = testImage(h, w, 3);
      const ours = await session.run({ image: new ort.Tensor('float32', x, [1, 3, h, w]) });
      const refs = tf.tidy(() => (model.predict(tf.tensor4d(x, [1, 3, h, w]).transpose([0, 2, 3, 1])) as tf.Tensor[]).map((t) => t.transpose([0, 3, 1, 2])));
      ['cat', 'pad'].forEach((tap, k) => {
        expect(ours[tap]!.dims).toEqual(refs[k]!.shape);
        const r = refs[k]!.dataSync();
        const d = ours[tap]!.data as Float32Array;
        let maxDiff = 0;
        for (let i = 0; i < r.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r[i]! - d[i]!));
        expect(maxDiff, `${tap} at ${h}x${w}`).toBeLessThan(1e-4);
      });
      refs.forEach((t) => t.dispose());
    }
    await session.release();
  });

  it('refuses a tap that is not a layer of the model', () => {
    expect(() => convertKerasToOnnx(loadNsfwjsModel('mobilenet_v2'), { taps: ['block_99_add'] })).toThrow(/no layer named block_99_add/);
  });
});
