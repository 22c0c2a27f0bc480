/**
 * Runs a backbone ONNX graph with onnxruntime-node and returns one NCHW Float32Array per tap.
 * The graph takes RGB in [0,1] (normalisation is inside it). Runs on the engine process,
 * never on the Electron main thread or the server's event loop.
 */
import * as ort from 'onnxruntime-node';
import { AppError } from '../common/errors';
import type { ExecutionProvider } from '../common/records';
import { createSession } from '../runtime/session';
import type { BackboneSpec } from './registry';
import { asGeometry, geometryKey, type InputSize } from '../bgad/geometry';


export interface ExtractorOptions {
  executionProvider?: ExecutionProvider;
  /** intra-op threads (default: ORT's choice, i.e. all cores). */
  threads?: number;
  /** Told when the requested provider is unavailable and the CPU is used (default: stderr). */
  onNotice?: (message: string) => void;
}

export interface TapShape {
  channels: number;
  height: number;
  width: number;
}

export class FeatureExtractor {
  /** Number of `extractBatch` calls that ran the backbone (for cache tests and stats). */
  runs = 0;
  /** Tap shapes by input geometry (geometryKey). */
  private readonly shapeCache = new Map<string, TapShape[]>();

  private constructor(
    readonly spec: BackboneSpec,
    private readonly session: ort.InferenceSession,
    readonly executionProvider: ExecutionProvider,
  ) {}

  static async create(spec: BackboneSpec, opts: ExtractorOptions = {}): Promise<FeatureExtractor> {
    let session: ort.InferenceSession;
    let ep: ExecutionProvider;
    try {
      // the requested GPU provider missing here: the factory's one rule (run on the CPU, say so once)
      ({ session, executionProvider: ep } = await createSession(spec.onnxPath, {
        executionProvider: opts.executionProvider, threads: opts.threads,
        onNotice: opts.onNotice ?? ((m: string) => process.stderr.write(`bgad: backbone ${spec.id}: ${m}\n`)),
      }));
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      throw new AppError('BAD_BACKBONE', `Backbone ${spec.id} cannot be loaded from ${spec.onnxPath} (${msg}).`, { hint: 'Delete the backbone cache folder so it is converted again.', subject: spec.onnxPath, cause: e });
    }
    for (const t of spec.taps) {
      if (!session.outputNames.includes(t.name)) {
        await session.release();
        throw new AppError('BAD_BACKBONE', `Backbone ${spec.id} has no output ${t.name}.`, { hint: 'Delete the backbone cache folder so it is converted again.', subject: spec.onnxPath });
      }
    }
    return new FeatureExtractor(spec, session, ep);
  }

  /**
   * `chw` holds `n` images, each 3*H*W planar RGB in [0,1] (`size`: S or H x W; without it,
   * square and S inferred). Returns one NCHW array per tap, in the order of `spec.taps`.
   */
  async extractBatch(chw: Float32Array, n: number, size?: InputSize): Promise<Float32Array[]> {
    return (await this.extractBatchWithShapes(chw, n, size)).taps;
  }

  async extractBatchWithShapes(chw: Float32Array, n: number, size?: InputSize): Promise<{ taps: Float32Array[]; shapes: TapShape[] }> {
    const s = Math.round(Math.sqrt(chw.length / (3 * n)));
    const { height: h, width: w } = asGeometry(size ?? s);
    if (!Number.isInteger(n) || n < 1 || h * w * 3 * n !== chw.length) {
      throw new AppError('BAD_ARGUMENT', `extractBatch: ${chw.length} values are not ${n} RGB images of ${w}x${h}.`);
    }
    const input = new ort.Tensor('float32', chw, [n, 3, h, w]);
    this.runs++;
    const out = await this.session.run({ [this.spec.inputName]: input });
    const taps: Float32Array[] = [];
    const shapes: TapShape[] = [];
    for (const t of this.spec.taps) {
      const v = out[t.name]!;
      taps.push(v.data as Float32Array);
      shapes.push({ channels: Number(v.dims[1]), height: Number(v.dims[2]), width: Number(v.dims[3]) });
    }
    const key = geometryKey({ height: h, width: w });
    if (!this.shapeCache.has(key)) this.shapeCache.set(key, shapes);
    return { taps, shapes };
  }

  /**
   * Per-tap map sizes at an input size, S or H x W (measured once with a blank image: never
   * S / stride arithmetic, e.g. InceptionV3's valid padding gives 60, not 64, at 256).
   */
  async tapShapes(sizePx: InputSize = this.spec.inputSize): Promise<TapShape[]> {
    const hit = this.shapeCache.get(geometryKey(sizePx));
    if (hit) return hit;
    const g = asGeometry(sizePx);
    const { shapes } = await this.extractBatchWithShapes(new Float32Array(3 * g.height * g.width), 1, g);
    this.runs--;
    return shapes;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
