/**
 * Opens a model bundle for inspection: the backbone it was trained with (refused when the
 * local build differs: its features would not be the ones the flows learned) and the
 * calibrated scoring head, as two ONNX Runtime sessions on the same graphs the trainer's
 * FeatureExtractor and Scorer run.
 *
 * We create the sessions here (rather than through FeatureExtractor/Scorer) to control the
 * thread pool: ORT's intra-op threads spin while waiting for work, which on a 2-core PC that
 * also decodes images and encodes heat maps (sharp's threads) made two ORT threads 2.5x
 * slower than one. Spinning is off unless `spin` is set.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError, isAppError } from '../common/errors';
import { encodeBundle, scoringPart, type ModelBundle } from '../bgad/bundle';
import { buildScoreHead, featureInputName } from '../bgad/score-head';
import { getBackbone, type BackboneSpec } from '../backbones/registry';
import { defaultCacheRoot, loadBundle } from '../training/pipeline';
import type { ExecutionProviderName } from '../runtime/session';

export interface ModelSource {
  bundle: ModelBundle;
  /** sha256 of the bundle file (of its encoding for an in-memory bundle). */
  sha256: string;
  /** The file it came from; null for an in-memory bundle. */
  file: string | null;
  /** sha256 of what decides the scores (the bundle without its threshold): equal across threshold changes. */
  scoringSha256: string;
}

export interface RuntimeOptions {
  /** Backbone conversion cache root (`<root>/backbones`); default ./.cache or BGAD_CACHE_DIR. */
  cacheDir?: string;
  /** ONNX Runtime intra-op threads per session (default 1: the other cores decode and encode). */
  threads?: number;
  executionProvider?: ExecutionProviderName;
  /** Let ORT's idle threads spin (faster on an otherwise idle many-core machine). */
  spin?: boolean;
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sha256Raw = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** Reads a bundle file (BAD_MODEL when unreadable or damaged) or takes an in-memory one. */
export async function readModelSource(model: string | ModelBundle): Promise<ModelSource> {
  const scoringSha256 = (b: ModelBundle) => sha256Hex(encodeBundle(scoringPart(b), sha256Raw));
  if (typeof model !== 'string') return { bundle: model, sha256: sha256Hex(encodeBundle(model, sha256Raw)), file: null, scoringSha256: scoringSha256(model) };
  const file = resolve(model);
  const bundle = await loadBundle(file);
  return { bundle, sha256: sha256Hex(await readFile(file)), file, scoringSha256: scoringSha256(bundle) };
}

/** The backbone the bundle was trained with; BAD_MODEL when it is missing or a different build. */
export async function backboneForBundle(bundle: ModelBundle, cacheDir?: string): Promise<BackboneSpec> {
  const want = bundle.meta.backbone;
  let spec: BackboneSpec;
  try {
    spec = await getBackbone(want.id, { cacheDir: join(cacheDir ?? defaultCacheRoot(), 'backbones') });
  } catch (e) {
    if (isAppError(e)) throw new AppError('BAD_MODEL', `The model needs backbone ${want.id}, which cannot be used here: ${e.message}`, { hint: e.hint ?? 'Train the model again with an available backbone.', cause: e });
    throw e;
  }
  if (spec.sha256 !== want.sha256) {
    throw new AppError('BAD_MODEL', `The model was trained with a different build of backbone ${want.id} (hash ${want.sha256.slice(0, 12)}, here ${spec.sha256.slice(0, 12)}).`, {
      hint: 'Inspect with the installation the model was trained on, or train the model again here.',
    });
  }
  return spec;
}

export interface ScoredImage {
  score: number;
  /** S*S anomaly map, row-major. */
  map: Float32Array;
}

export interface InspectionModel {
  source: ModelSource;
  spec: BackboneSpec;
  inputSize: number;
  /** `chw` holds `n` images, each 3*S*S planar RGB in [0,1]. */
  score(chw: Float32Array, n: number): Promise<ScoredImage[]>;
  dispose(): Promise<void>;
}

async function session(model: string | Uint8Array, o: RuntimeOptions, what: string): Promise<ort.InferenceSession> {
  const ep = o.executionProvider ?? 'cpu';
  const so: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: o.threads ?? 1,
    executionProviders: ep === 'cpu' ? ['cpu'] : [ep, 'cpu'],
    extra: { session: { intra_op: { allow_spinning: o.spin ? '1' : '0' } } },
  };
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
  } catch (e) {
    throw new AppError('BAD_MODEL', `The ${what} cannot be loaded (${(e as Error).message.split('\n')[0]}).`, { hint: ep === 'cpu' ? 'Train the model again, or delete the backbone cache folder so it is converted again.' : 'Use the CPU, or install the GPU runtime for this provider.', cause: e });
  }
}

export async function openInspectionModel(model: string | ModelBundle | ModelSource, opts: RuntimeOptions = {}): Promise<InspectionModel> {
  const source = typeof model === 'object' && 'bundle' in model ? model : await readModelSource(model);
  const { bundle } = source;
  const meta = bundle.meta;
  const spec = await backboneForBundle(bundle, opts.cacheDir);
  const S = meta.backbone.inputSize;
  if (meta.levels.length !== spec.taps.length) throw new AppError('BAD_MODEL', `The model has ${meta.levels.length} levels; backbone ${spec.id} has ${spec.taps.length} taps.`, { hint: 'Train the model again on this installation.' });
  const backbone = await session(spec.onnxPath, opts, `backbone ${spec.id}`);
  let head: ort.InferenceSession;
  try {
    const levels = meta.levels.map((l, k) => ({ weights: bundle.weights[k]!, height: l.height, width: l.width }));
    head = await session(buildScoreHead(levels, meta.levels.map((l) => l.channels), { inputSize: S, calibration: meta.calibration }), opts, 'scoring head');
  } catch (e) {
    await backbone.release();
    throw e;
  }
  const plane = S * S;
  return {
    source,
    spec,
    inputSize: S,
    async score(chw, n) {
      if (chw.length !== n * 3 * plane) throw new AppError('BAD_ARGUMENT', `score: ${chw.length} values are not ${n} images of ${S}x${S}.`);
      const feats = await backbone.run({ [spec.inputName]: new ort.Tensor('float32', chw, [n, 3, S, S]) });
      const feeds: Record<string, ort.Tensor> = {};
      spec.taps.forEach((t, k) => {
        const v = feats[t.name]!;
        const l = meta.levels[k]!;
        if (Number(v.dims[1]) !== l.channels || Number(v.dims[2]) !== l.height || Number(v.dims[3]) !== l.width) {
          throw new AppError('BAD_MODEL', `The model's level ${k} expects ${l.channels}x${l.height}x${l.width} features; backbone ${spec.id} gives ${v.dims.slice(1).join('x')}.`, { hint: 'Train the model again on this installation.' });
        }
        feeds[featureInputName(k)] = v;
      });
      const out = await head.run(feeds);
      const maps = out.anomaly_map!.data as Float32Array;
      const scores = out.pred_score!.data as Float32Array;
      return Array.from({ length: n }, (_, j) => ({ score: scores[j]!, map: maps.slice(j * plane, (j + 1) * plane) }));
    },
    async dispose() {
      await head.release();
      await backbone.release();
    },
  };
}
