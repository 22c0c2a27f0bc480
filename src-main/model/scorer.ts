/**
 * The one scorer: a model's calibrated scoring head (bgad/score-head.ts: backbone features ->
 * `anomaly_map`, `pred_score`) in an ONNX Runtime session, and the model opened on images
 * (its backbone, checked to be the build it was trained with, in front of that scorer).
 *
 * - `Scorer` scores backbone features. Training calibrates and sets the threshold with it,
 *   evaluation and the engine's `score-split` job score (cached) test features with it.
 * - `openInspectionModel` adds the backbone session and scores images (inspection, export's
 *   check), feeding the backbone's output tensors straight to the same scorer.
 *
 * Sessions are created here with control of the thread pool (runtime/session.ts): ORT's
 * intra-op threads spin while waiting for work, which on a 2-core PC that also decodes images
 * and encodes heat maps (sharp's threads) made two ORT threads 2.5x slower than one. Spinning
 * is off unless `spin` is set; an inspection runs one thread unless told otherwise, training
 * and evaluation run ORT's default (all cores) unless `threads` is set.
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../common/errors';
import type { ModelBundle } from '../bgad/bundle';
import { areaAt } from '../bgad/area';
import { asGeometry, inputGeometry, type InputGeometry, type InputSize } from '../bgad/geometry';
import { buildScoreHead, featureInputName, type Calibration, type HeadLevel } from '../bgad/score-head';
import type { BackboneSpec } from '../backbones/registry';
import type { ExecutionProvider } from '../common/records';
import { createSession } from '../runtime/session';
import { localSession, openSessionInWorker, RemoteSession, type RunnableSession } from '../runtime/remote-session';
import { backboneForBundle } from './backbone';
import { readModelSource, type ModelSource } from './bundle-file';

export interface ScorerOptions {
  /** ONNX Runtime intra-op threads (default: all cores ORT sees). */
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Let ORT's idle threads spin (faster on an otherwise idle many-core machine). */
  spin?: boolean;
  /** Told once when the provider is not available and the CPU is used (runtime/session.ts). */
  onNotice?: (message: string) => void;
  /** Run the session in its own worker thread (runtime/remote-session.ts), when it is built. */
  inWorker?: boolean;
}

export interface ScoreResult {
  score: number;
  /** Anomaly map at the model's input height x width, row-major. */
  map: Float32Array;
}

/** An ORT session for one of a model's graphs; BAD_MODEL, naming `what`, when it cannot be created. In a worker thread when `o.inWorker` and the worker is built. */
async function openSession(model: string | Uint8Array, o: ScorerOptions, what: string): Promise<RunnableSession> {
  const so = { threads: o.threads, spin: o.spin, executionProvider: o.executionProvider, onNotice: o.onNotice };
  try {
    const remote = o.inWorker ? await openSessionInWorker(model, so) : null;
    if (remote) return remote;
    const { session } = await createSession(model, so);
    return localSession(session);
  } catch (e) {
    const ep = o.executionProvider ?? 'cpu';
    throw new AppError('BAD_MODEL', `The ${what} cannot be loaded (${(e as Error).message.split('\n')[0]}).`, { hint: ep === 'cpu' ? 'Train the model again, or delete the backbone cache folder so it is converted again.' : 'Use the CPU, or install the GPU runtime for this provider.', cause: e });
  }
}

/** The scoring head's feeds for a batch of images' features (`batch[j][k]`: image j, level k). */
export function headFeeds(levels: HeadLevel[], channels: number[], batch: Float32Array[][]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  levels.forEach((lv, k) => {
    const per = channels[k]! * lv.height * lv.width;
    const data = batch.length === 1 ? batch[0]![k]! : new Float32Array(per * batch.length);
    if (batch.length > 1) batch.forEach((f, j) => data.set(f[k]!, j * per));
    feeds[featureInputName(k)] = new ort.Tensor('float32', data, [batch.length, channels[k]!, lv.height, lv.width]);
  });
  return feeds;
}

/** A bundle's inspection area at its input height x width (undefined: the whole image), for the scoring head. */
export function bundleAreaAt(b: ModelBundle): Uint8Array | undefined {
  const { height, width } = inputGeometry(b.meta);
  return b.inspectionArea ? areaAt(b.inspectionArea, width, height) : undefined;
}

/** Runs the calibrated scoring head on backbone features. */
export class Scorer {
  private constructor(private readonly session: RunnableSession, private readonly levels: HeadLevel[], private readonly channels: number[], readonly input: InputGeometry) {}

  /** Whether the session runs in its own worker thread. */
  get inWorker(): boolean {
    return this.session instanceof RemoteSession;
  }

  /** `S`: the input, S x S or height x width; `area`: the inspection area at that size (0/1); the map is zero outside it. */
  static async create(levels: HeadLevel[], channels: number[], S: InputSize, calibration: Calibration, opts: ScorerOptions = {}, area?: Uint8Array): Promise<Scorer> {
    const onnx = buildScoreHead(levels, channels, { inputSize: S, calibration, area });
    return new Scorer(await openSession(onnx, opts, 'scoring head'), levels, channels, asGeometry(S));
  }

  static fromBundle(b: ModelBundle, opts: ScorerOptions = {}): Promise<Scorer> {
    const levels = b.meta.levels.map((l, k) => ({ weights: b.weights[k]!, height: l.height, width: l.width }));
    return Scorer.create(levels, b.meta.levels.map((l) => l.channels), inputGeometry(b.meta), b.meta.calibration, opts, bundleAreaAt(b));
  }

  /** `batch[j][k]`: image j's features at level k. */
  score(batch: Float32Array[][]): Promise<ScoreResult[]> {
    return this.scoreFeeds(headFeeds(this.levels, this.channels, batch), batch.length);
  }

  /** Features already in tensors named by `featureInputName` (a backbone's outputs), `n` images. */
  async scoreFeeds(feeds: Record<string, ort.Tensor>, n: number, opts: { transferInputs?: boolean } = {}): Promise<ScoreResult[]> {
    const out = await this.session.run(feeds, opts);
    const map = out.anomaly_map!.data as Float32Array;
    const scores = out.pred_score!.data as Float32Array;
    const px = this.input.height * this.input.width;
    return Array.from({ length: n }, (_, j) => ({ score: scores[j]!, map: map.slice(j * px, (j + 1) * px) }));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export interface RuntimeOptions {
  /** Backbone conversion cache root (`<root>/backbones`); default ./.cache or BGAD_CACHE_DIR. */
  cacheDir?: string;
  /** ONNX Runtime intra-op threads per session (default 1: the other cores decode and encode). */
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Let ORT's idle threads spin (faster on an otherwise idle many-core machine). */
  spin?: boolean;
  /**
   * Run the backbone and the scoring head each in its own worker thread (when built), so two
   * images in flight score at the same time (`concurrency` 2): what a folder inspection wants.
   * Default: both in the calling thread.
   */
  workers?: boolean;
}

/** A model opened on images: its backbone in front of its scorer. */
export interface InspectionModel {
  source: ModelSource;
  spec: BackboneSpec;
  /** The model's input height x width (S x S for a square model). */
  input: InputGeometry;
  /** `chw` holds `n` images, each 3*H*W planar RGB in [0,1]. */
  score(chw: Float32Array, n: number): Promise<ScoreResult[]>;
  /** Score calls worth having in flight at once: 2 when the backbone and the head run in their own threads, else 1. */
  concurrency?: number;
  dispose(): Promise<void>;
}

/**
 * Opens a bundle for scoring images: the backbone it was trained with (refused when the local
 * build differs: its features would not be the ones the flows learned) and its scorer, as two
 * ONNX Runtime sessions on the same graphs training and evaluation run.
 */
export async function openInspectionModel(model: string | ModelBundle | ModelSource, opts: RuntimeOptions = {}): Promise<InspectionModel> {
  const source = typeof model === 'object' && 'bundle' in model ? model : await readModelSource(model);
  const { bundle } = source;
  const meta = bundle.meta;
  const spec = await backboneForBundle(bundle, opts.cacheDir);
  const { height: H, width: W } = inputGeometry(meta);
  if (meta.levels.length !== spec.taps.length) throw new AppError('BAD_MODEL', `The model has ${meta.levels.length} levels; backbone ${spec.id} has ${spec.taps.length} taps.`, { hint: 'Train the model again on this installation.' });
  const so: ScorerOptions = { threads: opts.threads ?? 1, spin: opts.spin, executionProvider: opts.executionProvider, inWorker: opts.workers };
  const backbone = await openSession(spec.onnxPath, so, `backbone ${spec.id}`);
  let scorer: Scorer;
  try {
    scorer = await Scorer.fromBundle(bundle, so);
  } catch (e) {
    await backbone.release();
    throw e;
  }
  const plane = H * W;
  return {
    source,
    spec,
    input: { height: H, width: W },
    concurrency: backbone instanceof RemoteSession && scorer.inWorker ? 2 : 1,
    async score(chw, n) {
      if (chw.length !== n * 3 * plane) throw new AppError('BAD_ARGUMENT', `score: ${chw.length} values are not ${n} images of ${W}x${H}.`);
      const feats = await backbone.run({ [spec.inputName]: new ort.Tensor('float32', chw, [n, 3, H, W]) });
      const feeds: Record<string, ort.Tensor> = {};
      spec.taps.forEach((t, k) => {
        const v = feats[t.name]!;
        const l = meta.levels[k]!;
        if (Number(v.dims[1]) !== l.channels || Number(v.dims[2]) !== l.height || Number(v.dims[3]) !== l.width) {
          throw new AppError('BAD_MODEL', `The model's level ${k} expects ${l.channels}x${l.height}x${l.width} features; backbone ${spec.id} gives ${v.dims.slice(1).join('x')}.`, { hint: 'Train the model again on this installation.' });
        }
        feeds[featureInputName(k)] = v;
      });
      return scorer.scoreFeeds(feeds, n, { transferInputs: true });
    },
    async dispose() {
      await scorer.dispose();
      await backbone.release();
    },
  };
}
