/**
 * THE engine job contract (pure), built like the API contract (./api.ts): one table from job
 * name to an argument validator and a result type (compile-time only). The engine host's
 * `run(kind, params)` is typed by it (src-main/engine/engine-host.ts), the engine worker
 * validates every job's params with it before the handler runs (src-main/engine/jobs.ts),
 * and the handlers must return its result types. Add a job here, then its handler in
 * src-main/engine/jobs.ts or app-jobs.ts.
 *
 * Params and results cross a thread or process boundary: plain structured-clone data.
 * Deeper checks of what a job is given (a dataset's lists, training overrides) stay with the
 * training and inspection code, as before; the validators here check the shape.
 */
import * as v from './validate';
import type { Validator } from './validate';
import { AppError } from './errors';
import { EXECUTION_PROVIDERS, type FileOutcome } from './records';
import type { EngineProgress } from './engine-protocol';
import type { RobustnessReport } from './robustness';

declare const resultBrand: unique symbol;
export interface JobDef<A = unknown, R = unknown> {
  readonly args: Validator<A>;
  /** Compile-time only: the result type. */
  readonly [resultBrand]?: R;
  readonly summary: string;
}

function job<R>() {
  return <A>(args: Validator<A>, summary: string): JobDef<A, R> => ({ args, summary });
}

/** A plain object whose inside the job's own code checks (a dataset's lists, training overrides). */
function opaqueObject<T extends object>(what: string): Validator<T> {
  const expected = `an object (${what})`;
  return {
    expected,
    parse(value, path = 'value') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new AppError('BAD_ARGUMENT', `${path} must be ${expected}.`, { subject: path });
      }
      return value as T;
    },
  };
}

/** Where a job runs ONNX Runtime: the backbone cache, threads, provider (as the app's settings give them). */
const runtime = {
  cacheDir: v.optional(v.path()),
  threads: v.optional(v.number()),
  executionProvider: v.optional(v.oneOf(EXECUTION_PROVIDERS)),
};

// ---------------------------------------------------------------------------------------
// Result types.

export interface BackboneRef {
  id: string;
  sha256: string;
  inputSize: number;
  /** An aspect model's input height x width (absent: inputSize x inputSize). */
  inputHeight?: number;
  inputWidth?: number;
}

/** Image scores of a frozen test split: test good, then test defects, in the category's order. */
export interface TestScores {
  normal: number[];
  defect: number[];
}

/**
 * What the train job returns. `testScores`: the image score of every image of the frozen test
 * split: those evaluation scored when it ran (an image it could not read is left out), else
 * scored by the job, so the app stores them with the model version and needs no second job.
 */
export interface TrainJobResult {
  out: string;
  threshold: number;
  calibration: { levelMax: number[]; mapMax: number };
  training?: { steps: number; trainSeconds: number; nanSteps: number };
  anomaliesUsed: { path: string; type: string; sha256: string }[];
  levels: { boundary: number | null }[];
  metrics: Record<string, unknown> | null;
  curve: { step: number; level: number; loss: number; boundary: number }[];
  backbone: BackboneRef;
  testScores: TestScores;
}

export interface ScoreSplitResult extends TestScores {
  backbone: BackboneRef;
}

/** One inspected image (pictures as absolute paths; no pixel data): a file's outcome, where the file is, and the threshold its verdict used. */
export interface InspectedImage extends FileOutcome {
  path: string;
  rel: string;
  resumed: boolean;
  /** The threshold the verdict used. */
  threshold: number;
}

/** One file of a folder inspection as it travels back in the progress events (no pixel data). */
export type BatchResult = Pick<InspectedImage, 'path' | 'rel' | 'sha256' | 'score' | 'verdict' | 'error' | 'heatmap' | 'overlay' | 'thumbnail'>;

/** `progress.data` of an inspect-batch job: each file's result once, in the order written. */
export interface BatchProgressData {
  done: number;
  total: number;
  imagesPerSecond?: number;
  results: BatchResult[];
}

export interface InspectBatchResult {
  total: number;
  pass: number;
  fail: number;
  error: number;
  /** Results in the review band (0 without one). */
  review?: number;
  threshold: number;
  /** Report files by format (and `jsonl`, the results log). */
  reports: Partial<Record<string, string>>;
  out: string;
}

// ---------------------------------------------------------------------------------------
// The table.

const trainArgs = v.object({
  /** One category in the MVTec AD layout on disk ... */
  dataDir: v.optional(v.path()),
  /** ... or the same lists built from a database dataset (training/dataset.ts CategoryData). */
  category: v.optional(opaqueObject<object>('the lists of a category')),
  preset: v.optional(v.string({ min: 1, max: 64 })),
  /** Training-configuration overrides (bgad/config.ts TrainConfig; checked by the training code). */
  overrides: v.optional(opaqueObject<{ readonly [key: string]: unknown }>('training configuration overrides')),
  anomalies: v.optional(v.number()),
  anomalyTypes: v.optional(v.array(v.string())),
  backboneId: v.optional(v.string({ min: 1, max: 200 })),
  ...runtime,
  /** Where to write the .bgad bundle. */
  out: v.path(),
  /** Also evaluate on the category's test set. */
  evaluate: v.optional(v.boolean()),
});

/** A review band for the verdicts (scores in (low, high] get review); null or absent: none. */
const reviewBandArg = v.nullable(v.object({ low: v.number(), high: v.number() }));

export const engineJobs = {
  train: job<TrainJobResult>()(trainArgs, 'Trains a model (and optionally evaluates it); writes the bundle to `out`; returns the test split\'s scores.'),
  'score-split': job<ScoreSplitResult>()(
    v.object({ bundle: v.path(), good: v.optional(v.array(v.path())), defect: v.optional(v.array(v.path())), ...runtime }),
    'Image scores of a model on good and defective images: the fallback for model versions stored without their test scores.',
  ),
  'inspect-image': job<InspectedImage>()(
    v.object({ bundle: v.path(), image: v.path(), out: v.path(), threshold: v.optional(v.number()), reviewBand: v.optional(reviewBandArg), ...runtime }),
    'One image: score, verdict and heat-map pictures written under `out`.',
  ),
  'inspect-batch': job<InspectBatchResult>()(
    v.object({ bundle: v.path(), input: v.path(), out: v.path(), threshold: v.optional(v.number()), reviewBand: v.optional(reviewBandArg), ...runtime }),
    'A folder: results stream back in the progress events (BatchProgressData), reports written under `out`.',
  ),
  'export-model': job<{ path: string; sha256: string }>()(
    v.object({ bundle: v.path(), out: v.path(), cacheDir: v.optional(v.path()) }),
    'A portable ONNX file (image -> anomaly_map, pred_score), verified by a test run.',
  ),
  robustness: job<RobustnessReport>()(
    v.object({
      /** A database dataset's lists (training/dataset.ts CategoryData). */
      category: opaqueObject<object>('the lists of a category'),
      preset: v.optional(v.string({ min: 1, max: 64 })),
      overrides: v.optional(opaqueObject<{ readonly [key: string]: unknown }>('training configuration overrides')),
      anomalies: v.optional(v.number()),
      backboneId: v.optional(v.string({ min: 1, max: 200 })),
      ...runtime,
    }),
    'The unseen-defect robustness report (training/robustness.ts): 2 + defect types trainings and evaluations; keeps no model file.',
  ),
  sleep: job<{ sleptMs: number }>()(
    v.object({ ms: v.optional(v.number({ min: 0 })), ignoreCancel: v.optional(v.boolean()) }),
    'Only waits (engine self-test; `ignoreCancel` simulates a stuck native call).',
  ),
} as const;

// ---------------------------------------------------------------------------------------
// Types and helpers derived from the table.

/** A table of jobs (the engine's, or a test's own). */
export type JobTable = { readonly [kind: string]: JobDef<unknown, unknown> };
export type EngineJobs = typeof engineJobs;
export type JobName = keyof EngineJobs & string;
export type DefArgs<D> = D extends { args: Validator<infer A> } ? A : never;
export type DefResult<D> = D extends JobDef<unknown, infer R> ? R : never;
export type JobArgs<K extends JobName> = DefArgs<EngineJobs[K]>;
export type JobResult<K extends JobName> = DefResult<EngineJobs[K]>;

export function isJobName(kind: unknown): kind is JobName {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(engineJobs, kind);
}

/** Validates a job's params; throws AppError('BAD_ARGUMENT') naming the field. */
export function parseJobArgs<K extends JobName>(kind: K, params: unknown): JobArgs<K> {
  return (engineJobs[kind].args as Validator<unknown>).parse(params, `${kind} params`) as JobArgs<K>;
}

export interface EngineRunOptions {
  onProgress?: (p: EngineProgress) => void;
  signal?: AbortSignal;
}

/**
 * Runs engine jobs away from the caller's event loop (src-main/engine/engine-host.ts: a
 * worker thread in `bgad serve`, an Electron utility process in the desktop app).
 */
export interface EngineRunner<T extends JobTable = EngineJobs> {
  run<K extends keyof T & string>(kind: K, params: DefArgs<T[K]>, opts?: EngineRunOptions): Promise<DefResult<T[K]>>;
  dispose(): Promise<void>;
}

export type ScoreSplitParams = JobArgs<'score-split'>;
