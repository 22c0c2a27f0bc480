/**
 * Reads the Keras models that the MIT-licensed `nsfwjs@4.4.0` npm package ships as browserify
 * bundles: `model.min.js` exports `{ modelTopology, weightsManifest }` (a tfjs layers-model
 * artifact) and each `group1-shardXofY.min.js` exports one base64 string; their concatenated
 * bytes are the weights in manifest order, quantized to uint8 (value = min + q * scale).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { AppError } from '../common/errors';

export type NsfwjsModelName = 'mobilenet_v2' | 'inception_v3';

export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, Record<string, unknown>][][];
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min?: number; scale?: number; dtype: string };
}

export interface KerasArtifact {
  modelTopology: { model_config: { class_name: string; config: { layers: KerasLayer[] } }; [k: string]: unknown };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export interface KerasModelFiles {
  artifact: KerasArtifact;
  /** Raw (still quantized) weight bytes, all shards concatenated. */
  weightData: Uint8Array;
  /** Dequantized float32 weights by name (e.g. `Conv1/kernel`), Keras layouts. */
  weights: Map<string, { shape: number[]; data: Float32Array }>;
}

function moduleFile(): string {
  if (typeof __filename === 'string') return __filename;
  return fileURLToPath(import.meta.url);
}

/** Folder holding nsfwjs's `dist/models`, found through Node's resolution from here or the working directory. */
export function nsfwjsModelsDir(): string {
  const bases = [moduleFile(), join(process.cwd(), 'noop.js')];
  for (const base of bases) {
    try {
      const main = createRequire(base).resolve('nsfwjs');
      let dir = dirname(main);
      for (let i = 0; i < 4; i++) {
        const cand = join(dir, 'models');
        if (existsSync(join(cand, 'mobilenet_v2', 'model.min.js'))) return cand;
        dir = dirname(dir);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw new AppError('BAD_BACKBONE', 'The nsfwjs package with its model files was not found.', {
    hint: 'Run `npm ci` in the application folder; the built-in backbones are converted from nsfwjs@4.4.0.',
  });
}

function runBundle(file: string): unknown {
  const code = readFileSync(file, 'utf8');
  const sandbox: { module: { exports: unknown }; exports: Record<string, unknown> } = { module: { exports: {} }, exports: {} };
  sandbox.module.exports = sandbox.exports;
  vm.runInNewContext(code, sandbox, { filename: file, timeout: 30_000 });
  return sandbox.module.exports;
}

function dequantize(spec: WeightSpec, bytes: Uint8Array): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const q = spec.quantization;
  if (!q) {
    if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: unsupported dtype ${spec.dtype}`);
    out.set(new Float32Array(bytes.slice().buffer, 0, n));
    return out;
  }
  if (q.dtype !== 'uint8' || q.min === undefined || q.scale === undefined) throw new Error(`weight ${spec.name}: unsupported quantization ${JSON.stringify(q)}`);
  // Same arithmetic as tfjs io.decodeWeights: v * scale + min in double, stored as float32.
  const { scale, min } = q;
  for (let i = 0; i < n; i++) out[i] = bytes[i]! * scale + min;
  return out;
}

function bytesPerElement(spec: WeightSpec): number {
  const d = spec.quantization?.dtype ?? spec.dtype;
  return d === 'uint8' || d === 'int8' ? 1 : d === 'uint16' || d === 'int16' || d === 'float16' ? 2 : 4;
}

export function loadNsfwjsModel(name: NsfwjsModelName): KerasModelFiles {
  const dir = join(nsfwjsModelsDir(), name);
  const artifact = runBundle(join(dir, 'model.min.js')) as KerasArtifact;
  if (!artifact?.modelTopology || !artifact.weightsManifest) throw new AppError('BAD_BACKBONE', `nsfwjs model ${name} has an unexpected layout.`, { subject: dir });
  const parts: Buffer[] = [];
  for (const group of artifact.weightsManifest) {
    for (const p of group.paths) {
      const b64 = runBundle(join(dir, `${p}.min.js`));
      if (typeof b64 !== 'string') throw new AppError('BAD_BACKBONE', `nsfwjs weight shard ${p} has an unexpected layout.`, { subject: dir });
      parts.push(Buffer.from(b64, 'base64'));
    }
  }
  const weightData = new Uint8Array(Buffer.concat(parts));
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  let off = 0;
  for (const group of artifact.weightsManifest) {
    for (const spec of group.weights) {
      const len = spec.shape.reduce((a, b) => a * b, 1) * bytesPerElement(spec);
      if (off + len > weightData.length) throw new AppError('BAD_BACKBONE', `nsfwjs model ${name}: weights are shorter than the manifest.`, { subject: dir });
      weights.set(spec.name, { shape: spec.shape, data: dequantize(spec, weightData.subarray(off, off + len)) });
      off += len;
    }
  }
  return { artifact, weightData, weights };
}
