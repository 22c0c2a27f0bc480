/**
 * THE one API contract between the UI and the services (pure: imports nothing from Node,
 * Electron or the DOM). Everything else is derived from the `contract` object below:
 *   - the preload bridge (src-main/preload/bridge.ts) exposes exactly these methods,
 *   - the Electron main process registers one IPC handler per method (src-main/app/ipc.ts),
 *   - the browser-mode server routes `POST /api/<group>.<name>` (src-main/server/http-server.ts),
 *   - the renderer's client (src-renderer/lib/api-client.ts) is typed and built from it.
 * Each method has an argument validator (runs on the trusted side for every call) and a
 * result type (compile-time only). Add a method here and every layer picks it up.
 *
 * Conventions: one argument object per call; ids are positive integers; times are epoch
 * milliseconds (`*Ms`); paths are absolute paths on the machine running the services;
 * long work returns `{ jobId }` at once and reports through `ApiEvent`s.
 */
import * as v from './validate';
import type { Infer, Validator } from './validate';
import type { EngineProgress } from './engine-protocol';
import type { SerializedError } from './errors';
import type { RobustnessReportRecord } from './robustness';
import { GEOMETRY_MODES, TRAINING_PARAM_DEFS, TRAINING_PRESETS, type TrainingParamKey } from './training-params';
import { EXECUTION_PROVIDERS, IMAGE_LABELS, IMAGE_SPLITS, VERDICTS } from './records';
import { REVIEW_DECISIONS, type ReviewComparison, type ReviewDecideResult, type ReviewProgress, type ReviewQueue, type ReviewUndoResult } from './review';
import type { InspectionAreaInfo, InspectionAreaRecord } from './inspection-area';
import type { Dataset, ExecutionProvider, DatasetSummary, DefectType, ImagePage, ImageRecord, ImportRun, InspectionResult, InspectionRun, InspectionSummary, MaskInfo, MaskPixels, ModelComparison, ModelVersion, ReviewBand, TrainingRun, Verdict } from './records';
import type { ReviewBandProposal } from './review-band';

export type { ReviewBandProposal };

// ---------------------------------------------------------------------------------------
// Domain types that cross the boundary (plain JSON except where Uint8Array is stated). The
// data layer's records (datasets, images, masks, imports, runs, model versions, results)
// are written once in ./records and re-exported here; the services return the same types.

export * from './records';
export type { InspectionAreaInfo, InspectionAreaPixels, InspectionAreaRecord } from './inspection-area';
export * from './review';

export type JobKind = 'import' | 'training' | 'inspection' | 'export' | 'robustness';
export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface AppInfo {
  name: string;
  version: string;
  /** Where the UI runs: the desktop app or a browser talking to `bgad serve`. */
  mode: 'electron' | 'browser';
  platform: string;
  dataDir: string;
  /** Native folder/file pickers exist (desktop app); in the browser, paths are typed. */
  hasNativeDialogs: boolean;
  /** Execution providers the engine can use on this machine. */
  executionProviders: ExecutionProvider[];
  cpuCount: number;
}

export interface Settings {
  dataDir: string;
  executionProvider: ExecutionProvider;
  /** Intra-op threads for ONNX Runtime; 0 = automatic. */
  threads: number;
  /**
   * Answer the inference API for line controllers (`/v1/inspect`, `/v1/health`) as `bgad serve
   * --api` does: in browser mode on the server's own port, in the desktop app on 127.0.0.1:`apiPort`.
   */
  apiEnabled?: boolean;
  /** Desktop app: the loopback port of the inference API (default DEFAULT_API_PORT; kept, so line controllers keep their address). */
  apiPort?: number;
  /** The data folder's API key, when one exists (read only; `rotateApiKey: true` in setSettings makes a new one). */
  apiKey?: string;
  /** Desktop app: whether the inference API is listening now, where, or why not (read only). */
  apiListener?: ApiListenerStatus;
}

/** The desktop app's default port of the inference API (the `apiPort` setting). */
export const DEFAULT_API_PORT = 8731;

/** The desktop app's inference API server: off, listening at `url`, or failed to start (`error`, `hint`: e.g. the port is taken). */
export interface ApiListenerStatus {
  state: 'off' | 'on' | 'failed';
  port: number;
  url?: string;
  error?: string;
  hint?: string;
}

export interface PathCheck {
  path: string;
  exists: boolean;
  isDirectory: boolean;
  isWritable: boolean;
  /** Image files inside, recursively (capped at 100,000), for folder inputs. */
  imageCount?: number;
  /** Looks like an MVTec AD category folder. */
  layout?: 'mvtec' | 'plain';
}

export interface JobRef {
  jobId: string;
}

export interface JobState {
  jobId: string;
  kind: JobKind;
  status: JobStatus;
  progress: EngineProgress;
  /** The database row the job writes (training run, inspection run), when known at start. */
  runId?: number;
  result?: unknown;
  error?: SerializedError;
  startedAtMs: number;
  finishedAtMs?: number;
}

export interface Backbone {
  id: string;
  description: string;
  available: boolean;
  /** Why it is unavailable, in words. */
  reason?: string;
  builtIn: boolean;
  isDefault: boolean;
}

export { TRAINING_PRESETS, type TrainingPreset } from './training-params';
export type { RobustnessFigures, RobustnessReport, RobustnessReportRecord, RobustnessRow } from './robustness';

/**
 * Advanced training parameters; anything left out comes from the preset. Their ranges, units,
 * labels and help texts are in the one table of ./training-params (TRAINING_PARAM_DEFS).
 */
export interface TrainingParams {
  /** Optimizer steps per level (overrides the preset's count; small values make a quick trial run). */
  steps?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  flowSteps?: number;
  couplingLayers?: number;
  imageSizePx?: number;
  /** Semi-push-pull margin, as in the paper (τ). */
  margin?: number;
  /** Boundary quantile of normal log-likelihoods (β). */
  boundaryQuantile?: number;
  /** Weight of the boundary-guided loss relative to maximum likelihood. */
  pushPullWeight?: number;
  seed?: number;
}
// the interface and the table name the same parameters (a compile error otherwise)
const _sameParams: [keyof TrainingParams, TrainingParamKey] extends [TrainingParamKey, keyof TrainingParams] ? true : never = true;
void _sameParams;

export interface TrainingRunDetail extends TrainingRun {
  /** Loss curves: series name ("loss", "loss/level1", ...) -> [step, value] points in step order. */
  loss: Record<string, [number, number][]>;
}

/** `EngineProgress.data` of training jobs. */
export interface TrainingProgressData {
  epoch: number;
  step: number;
  /** Total optimizer steps of the run, when known. */
  steps?: number;
  losses: Record<string, number>;
}

/** `EngineProgress.data` of batch inspection jobs. */
export interface InspectionProgressData {
  done: number;
  total: number;
  imagesPerSecond: number;
}

/** `ScoreHistogram` extras: rates at the threshold on the frozen evaluation split. */
export interface ThresholdRates {
  /** Normal images scored above the threshold (rejected good parts). */
  falseRejectRate: number;
  /** Defective images scored at or below the threshold (missed defects). */
  missRate: number;
}

export interface ScoreHistogram {
  modelId: number;
  binEdges: number[];
  normal: number[];
  defect: number[];
  /** The explicit boundary, as an anomaly score. */
  boundary: number | null;
  threshold: number | null;
  /** Scores of the frozen evaluation split, for ROC curves and draggable thresholds. */
  scores: { normal: number[]; defect: number[] };
  /** The version's review band (null: none). */
  reviewBand: ReviewBand | null;
  /** The default band for its threshold: from the threshold at 1 % to the one at 0.1 % false-reject rate of the calibration normals (common/review-band.ts); null when it cannot be told. */
  reviewBandProposal: ReviewBandProposal | null;
}

/** Result of inspecting one image. */
export interface SingleInspection {
  path: string | null;
  /** Absolute path of the inspected picture as kept in the data folder (display it with `fileUrl`). */
  imagePath?: string;
  score: number;
  /** review: inside the model's review band (only when it has one). */
  verdict: 'pass' | 'fail' | 'review';
  threshold: number;
  /** The model's review band the verdict used (null: none). */
  reviewBand?: ReviewBand | null;
  modelVersionId: number;
  /** Absolute path of the heat map PNG (display it with `fileUrl`). */
  heatmapPath: string;
}

/** One result of a running station, as the Station view shows it (paths for `fileUrl`). */
export interface StationResultItem {
  /** The file as it arrived (absolute; it may have been moved since, see movedTo). */
  path: string;
  /** Relative to the watched folder, `/`-separated. */
  rel: string;
  score: number | null;
  verdict: Verdict;
  /** Why the file could not be inspected (verdict error), else null. */
  error: string | null;
  /** The picture as the model saw it (a thumbnail in the output folder), when written. */
  imagePath: string | null;
  /** The heat map (PNG, the picture's size), when written. */
  heatmapPath: string | null;
  /** The heat-map overlay thumbnail, when written. */
  overlayPath: string | null;
  /** Where --move-to put the file; null when not moved. */
  movedTo: string | null;
  /** When the result was written (epoch ms). */
  timeMs: number;
  /** From the file found complete to its result on disk; null for a result recovered after a restart. */
  latencyMs: number | null;
}

/** The Station view's state of the station (`station.status`): the running one, or the last one until another starts. */
export interface StationStatus {
  stationId: string;
  /** The inspection run its results are stored in (reports: `inspection.exportReport`). */
  runId: number;
  modelId: number;
  modelNumber: number;
  datasetId: number;
  state: 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
  /** Why it stopped on its own (state failed). */
  error: SerializedError | null;
  input: string;
  out: string;
  moveTo: string | null;
  settleMs: number;
  webhook: string | null;
  mqtt: { url: string; topic: string } | null;
  threshold: number;
  /** The model's review band the station judges with (null: none). */
  reviewBand?: ReviewBand | null;
  startedAtMs: number;
  stoppedAtMs: number | null;
  /** `review`: results in the review band (absent or 0 without one). */
  counts: { total: number; pass: number; fail: number; error: number; review?: number };
  /** pass / total; null before the first result. */
  yield: number | null;
  /** Results per second over the last minute. */
  imagesPerSecond: number;
  /** Files seen and not yet done (settling or waiting). */
  pendingFiles: number;
  /** Events not yet delivered, per receiver (webhook, mqtt). */
  backlog: Record<string, number>;
  /** The newest results first (up to 12). */
  last: StationResultItem[];
  /** Recent scores, oldest first (up to 200), for the chart; errors have no score and are left out. */
  scores: { timeMs: number; score: number; verdict: 'pass' | 'fail' | 'review' }[];
  /** Fails in a row since the last pass. */
  consecutiveFails: number;
  alarmAfterFails: number;
  /** Raised after alarmAfterFails fails in a row; stays until acknowledged. */
  alarm: { raisedAtMs: number; fails: number; path: string } | null;
  /** Recent notices (a receiver down or up, a dead letter, warnings), newest first (up to 10). */
  notices: { timeMs: number; kind: 'warning' | 'sink-down' | 'sink-up' | 'dead-letter'; message: string }[];
}

/** A station's stored run (past shifts, for reports). */
export interface StationRun extends InspectionRun {
  input: string;
  out: string;
  moveTo: string | null;
}

/** One event of the append-only audit log (`audit.list`), as the Audit view and its CSV show it. */
export interface AuditRecord {
  id: number;
  atMs: number;
  /** `entity.action`, e.g. `image.label`, `mask.mask_create`, `model_version.threshold`, `model_version.activate`, `dataset.delete`. */
  kind: string;
  entity: string;
  entityId: number | null;
  action: string;
  /** Who made the change, where the event names one; the database's own records (labels, masks, thresholds, activations) cannot know: null. */
  actor: string | null;
  datasetId: number | null;
  /** The dataset's name, also after it was deleted (from its deletion's record). */
  datasetName: string | null;
  /** What was changed, in words: an image's file, `model v3`, a dataset's name. */
  subject: string;
  /** The change in words, e.g. `label: good → defect`. */
  detail: string;
  old: unknown;
  new: unknown;
}

/** A page of the audit log, newest first, and how many events match the filters. */
export interface AuditPage {
  rows: AuditRecord[];
  total: number;
}

/** Image file extensions the app reads (import, inspection, pickers), lower case, no dot. */
export const IMAGE_FILE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'tif', 'tiff', 'bmp', 'webp', 'gif'] as const;

/** Commands from the desktop app's menu (browser mode has no menu; Alt+1…8 switch views in both). */
export const MENU_COMMANDS = [
  'new-dataset',
  'import-folder',
  'inspect-image',
  'inspect-folder',
  'export-report',
  'go-datasets',
  'go-annotate',
  'go-training',
  'go-models',
  'go-inspect',
  'go-settings',
  'go-station',
  'go-audit',
  'about',
] as const;
export type MenuCommand = (typeof MENU_COMMANDS)[number];

/**
 * Events pushed to every UI window/tab: one job's progress, its result or its error; and
 * (desktop app) a menu command.
 */
export type ApiEvent =
  | { type: 'progress'; jobId: string; kind: JobKind; progress: EngineProgress }
  | { type: 'result'; jobId: string; kind: JobKind; value: unknown }
  | { type: 'error'; jobId: string; kind: JobKind; error: SerializedError }
  | { type: 'menu'; command: MenuCommand };

/** What every transport returns: the value, or an error as code + words + what to do. */
export type ApiResponse<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

// ---------------------------------------------------------------------------------------
// The contract.

declare const resultBrand: unique symbol;
export interface MethodDef<A = unknown, R = unknown> {
  readonly args: Validator<A>;
  /** Compile-time only: the result type. */
  readonly [resultBrand]?: R;
  /** Changes state (so a UI may confirm/disable while pending). Queries are false. */
  readonly mutates: boolean;
  readonly summary: string;
}

function query<R>() {
  return <A>(args: Validator<A>, summary: string): MethodDef<A, R> => ({ args, summary, mutates: false });
}
function command<R>() {
  return <A>(args: Validator<A>, summary: string): MethodDef<A, R> => ({ args, summary, mutates: true });
}

const none = v.object({});
const datasetRef = v.object({ datasetId: v.id() });
const label = v.oneOf(IMAGE_LABELS);
const split = v.oneOf(IMAGE_SPLITS);
const provider = v.oneOf(EXECUTION_PROVIDERS);
const jobId = v.string({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternText: 'a job id' });
const imageIds = v.array(v.id(), { min: 1, max: 100_000 });
const stationId = v.string({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternText: 'a station id' });
const side = v.int({ min: 1, max: 65_535 });
/** The audit log's filters (`audit.list`, `audit.exportCsv`). */
const auditFilters = {
  fromMs: v.optional(v.int({ min: 0 })),
  toMs: v.optional(v.int({ min: 0 })),
  kinds: v.optional(v.array(v.string({ min: 1, max: 200 }), { max: 100 })),
  search: v.optional(v.string({ max: 200 })),
  datasetId: v.optional(v.id()),
};

/** `training.start` params: one optional field per row of the training-parameter table. */
const trainingParams = v.object(
  Object.fromEntries(TRAINING_PARAM_DEFS.map((d) => [d.key, v.optional(v.number({ min: d.min, max: d.max, integer: d.integer }))])) as Record<TrainingParamKey, ReturnType<typeof v.optional<number>>>,
);

export const contract = {
  app: {
    info: query<AppInfo>()(none, 'What is running where: version, mode, data folder, providers.'),
    getSettings: query<Settings>()(none, 'The current settings.'),
    setSettings: command<Settings>()(
      v.object({
        dataDir: v.optional(v.path()),
        executionProvider: v.optional(provider),
        threads: v.optional(v.int({ min: 0, max: 256 })),
        apiEnabled: v.optional(v.boolean()),
        apiPort: v.optional(v.int({ min: 1024, max: 65535 })),
        rotateApiKey: v.optional(v.boolean()),
      }),
      'Changes settings; a new data folder takes effect on the next start (desktop app only). `rotateApiKey` replaces the API key (the old one stops working).',
    ),
    checkPath: query<PathCheck>()(
      v.object({ path: v.path(), expect: v.oneOf(['folder', 'file', 'newFile'] as const) }),
      'Checks a typed path (browser mode has no native pickers).',
    ),
    pickFolder: command<{ path: string | null }>()(v.object({ title: v.optional(v.string({ max: 200 })) }), 'Native folder picker (desktop app only).'),
    pickFile: command<{ path: string | null }>()(
      v.object({
        title: v.optional(v.string({ max: 200 })),
        filterName: v.optional(v.string({ max: 60 })),
        extensions: v.optional(v.array(v.string({ min: 1, max: 10, pattern: /^[A-Za-z0-9]+$/, patternText: 'an extension like "png"' }), { max: 20 })),
      }),
      'Native open-file picker (desktop app only).',
    ),
    pickSaveFile: command<{ path: string | null }>()(
      v.object({
        title: v.optional(v.string({ max: 200 })),
        defaultName: v.optional(v.string({ max: 255 })),
        extensions: v.optional(v.array(v.string({ min: 1, max: 10, pattern: /^[A-Za-z0-9]+$/, patternText: 'an extension like "pdf"' }), { max: 10 })),
      }),
      'Native save-file picker (desktop app only).',
    ),
  },
  jobs: {
    get: query<JobState>()(v.object({ jobId }), 'The state of a job (after a reload, to reattach progress).'),
    list: query<JobState[]>()(none, 'Jobs started since the services started, newest first.'),
    cancel: command<{ cancelled: boolean }>()(v.object({ jobId }), 'Asks a job to stop; it ends with a CANCELLED error event.'),
  },
  datasets: {
    list: query<DatasetSummary[]>()(none, 'All datasets with their counts.'),
    create: command<Dataset>()(v.object({ name: v.name() }), 'Creates an empty dataset.'),
    rename: command<Dataset>()(v.object({ datasetId: v.id(), name: v.name() }), 'Renames a dataset.'),
    delete: command<{ deletedImages: number }>()(
      v.object({ datasetId: v.id(), confirmName: v.string({ min: 1, max: 200 }) }),
      'Deletes a dataset with its images, masks and models; confirmName must equal its name.',
    ),
    importFolder: command<JobRef>()(
      v.object({ datasetId: v.id(), folder: v.path() }),
      'Imports a folder (recursive; MVTec layout detected). Progress data ImportProgress; result ImportSummary.',
    ),
    importRuns: query<ImportRun[]>()(v.object({ datasetId: v.optional(v.id()) }), 'Past and interrupted imports, newest first.'),
    getInspectionArea: query<InspectionAreaRecord | null>()(
      datasetRef,
      'The dataset\'s inspection area (image-normalised 0/1 pixels, 1 = inspected), or null: the whole image is inspected.',
    ),
    setInspectionArea: command<InspectionAreaInfo | null>()(
      v.object({ datasetId: v.id(), area: v.nullable(v.object({ width: side, height: side, pixels: v.bytes({ max: 8192 * 8192 }) })) }),
      'Sets the dataset\'s inspection area (audited); null or an all-zero area clears it. Affects the next training; trained versions keep theirs.',
    ),
  },
  images: {
    list: query<ImagePage>()(
      v.object({
        datasetId: v.id(),
        label: v.optional(label),
        split: v.optional(v.oneOf([...IMAGE_SPLITS, 'none'] as const)),
        annotated: v.optional(v.boolean()),
        defectTypeId: v.optional(v.id()),
        search: v.optional(v.string({ max: 200 })),
        orderBy: v.optional(v.oneOf(['id', 'path'] as const)),
        offset: v.optional(v.int({ min: 0 })),
        limit: v.optional(v.int({ min: 1, max: 1000 })),
        cursor: v.optional(v.string({ max: 2000 })),
      }),
      'A page of images matching the filters (default 100 per page).',
    ),
    get: query<ImageRecord>()(v.object({ imageId: v.id() }), 'One image with its details.'),
    setLabel: command<{ changed: number }>()(
      v.object({ imageIds, label, defectTypeId: v.optional(v.nullable(v.id())) }),
      'Labels one or many images of one dataset (audited).',
    ),
    setSplit: command<{ changed: number }>()(v.object({ imageIds, split: v.nullable(split) }), 'Moves images to a split, or to none.'),
  },
  defectTypes: {
    list: query<DefectType[]>()(datasetRef, 'Defect types of a dataset.'),
    create: command<DefectType>()(v.object({ datasetId: v.id(), name: v.name(60), colour: v.optional(v.colour()) }), 'Adds a defect type (or returns the one with that name).'),
    setColour: command<DefectType>()(v.object({ defectTypeId: v.id(), colour: v.colour() }), 'Changes the colour masks are drawn with.'),
  },
  masks: {
    list: query<MaskInfo[]>()(v.object({ imageId: v.id() }), 'Masks of an image.'),
    get: query<(MaskPixels & { info: MaskInfo }) | null>()(v.object({ imageId: v.id(), defectTypeId: v.id() }), 'A mask\'s pixels, or null when there is none.'),
    save: command<MaskInfo | null>()(
      v.object({ imageId: v.id(), defectTypeId: v.id(), width: side, height: side, data: v.bytes({ max: 65_535 * 65_535 }) }),
      'Saves a mask at the image\'s full resolution (lossless PNG); an all-zero mask deletes it (null).',
    ),
  },
  training: {
    backbones: query<Backbone[]>()(none, 'Backbones available offline.'),
    start: command<JobRef & { runId: number }>()(
      v.object({
        datasetId: v.id(),
        preset: v.oneOf(TRAINING_PRESETS),
        backboneId: v.string({ min: 1, max: 100 }),
        params: v.optional(trainingParams),
        defectTypeIds: v.optional(v.array(v.id(), { max: 1000 })),
        /** The model's input shape (bgad/geometry.ts); absent: DEFAULT_GEOMETRY. */
        geometry: v.optional(v.oneOf(GEOMETRY_MODES)),
      }),
      'Starts training in the engine process; progress data TrainingProgressData.',
    ),
    listRuns: query<TrainingRun[]>()(datasetRef, 'Training runs of a dataset, newest first.'),
    getRun: query<TrainingRunDetail>()(v.object({ runId: v.id() }), 'One run with its loss curves.'),
  },
  models: {
    list: query<ModelVersion[]>()(datasetRef, 'Model versions of a dataset with their metrics.'),
    histogram: query<ScoreHistogram>()(v.object({ modelId: v.id(), bins: v.optional(v.int({ min: 5, max: 500 })) }), 'Score distribution on the frozen evaluation split.'),
    setThreshold: command<ModelVersion>()(v.object({ modelId: v.id(), threshold: v.number() }), 'Sets the pass/fail threshold of a version (audited); refused (CONFLICT) outside its review band.'),
    setReviewBand: command<ModelVersion>()(
      v.object({ modelId: v.id(), band: v.nullable(v.object({ low: v.number(), high: v.number() })) }),
      'Sets a version\'s review band (scores with low < score <= high get the verdict review; it must hold the threshold), or clears it (null); audited, written into its bundle.',
    ),
    activate: command<ModelVersion>()(v.object({ modelId: v.id() }), 'Makes a version the one used for inspection (audited).'),
    compare: query<ModelComparison>()(v.object({ modelIdA: v.id(), modelIdB: v.id() }), 'Two versions of one dataset side by side.'),
    export: command<{ path: string }>()(
      v.object({ modelId: v.id(), outPath: v.path(), overwrite: v.optional(v.boolean()) }),
      'Writes a portable ONNX bundle; an existing file is refused (CONFLICT) unless overwrite is true.',
    ),
    robustness: command<JobRef>()(
      v.object({ datasetId: v.id(), preset: v.optional(v.oneOf(TRAINING_PRESETS)), backboneId: v.optional(v.string({ min: 1, max: 100 })), params: v.optional(trainingParams) }),
      'Starts the unseen-defect robustness report (a job: 2 + defect types trainings and evaluations, cancellable); the job\'s result is { reportId }, stored with the dataset.',
    ),
    robustnessReports: query<RobustnessReportRecord[]>()(datasetRef, 'The stored unseen-defect robustness reports of a dataset, newest first.'),
    exportRobustness: command<{ path: string }>()(
      v.object({ reportId: v.id(), format: v.oneOf(['pdf', 'csv'] as const), outPath: v.path(), overwrite: v.optional(v.boolean()) }),
      'Writes a robustness report as PDF or CSV; an existing file is refused (CONFLICT) unless overwrite is true.',
    ),
  },
  inspection: {
    inspectImage: command<SingleInspection>()(
      v.object({
        modelId: v.optional(v.id()),
        datasetId: v.optional(v.id()),
        path: v.optional(v.path()),
        image: v.optional(v.object({ fileName: v.string({ min: 1, max: 255 }), bytes: v.bytes({ max: 256 * 1024 * 1024 }) })),
        review: v.optional(v.boolean()),
      }),
      'Scores one image (a path, or dropped bytes) with a model (default: the dataset\'s active one). `review: true` keeps the result in the version\'s "single images" inspection run, for the review queue (the Inspect view does).',
    ),
    startBatch: command<JobRef & { runId: number }>()(
      v.object({ modelId: v.id(), folder: v.path(), threshold: v.optional(v.number()) }),
      'Inspects a folder in the engine process; progress by events.',
    ),
    listRuns: query<InspectionRun[]>()(v.object({ datasetId: v.optional(v.id()), modelId: v.optional(v.id()) }), 'Inspection runs, newest first.'),
    getRun: query<InspectionRun & { summary: InspectionSummary }>()(v.object({ runId: v.id() }), 'One run with its pass/fail counts and score range.'),
    results: query<{ items: InspectionResult[]; total: number }>()(
      v.object({
        runId: v.id(),
        verdict: v.optional(v.oneOf(VERDICTS)),
        search: v.optional(v.string({ max: 200 })),
        orderBy: v.optional(v.oneOf(['id', 'path', 'score'] as const)),
        descending: v.optional(v.boolean()),
        offset: v.optional(v.int({ min: 0 })),
        limit: v.optional(v.int({ min: 1, max: 1000 })),
      }),
      'A page of results of a run (score sorts highest first).',
    ),
    exportReport: command<{ path: string }>()(
      v.object({
        runId: v.id(),
        format: v.oneOf(['pdf', 'csv'] as const),
        outPath: v.path(),
        overwrite: v.optional(v.boolean()),
        fromMs: v.optional(v.int({ min: 0 })),
        toMs: v.optional(v.int({ min: 0 })),
      }),
      'Writes a PDF or CSV report; an existing file is refused (CONFLICT) unless overwrite is true. `fromMs`/`toMs` (epoch ms, inclusive) keep the results stored in that time range (a station\'s shift).',
    ),
  },
  station: {
    start: command<{ stationId: string; runId: number }>()(
      v.object({
        modelId: v.id(),
        input: v.path(),
        out: v.optional(v.path()),
        settleMs: v.optional(v.int({ min: 0, max: 600_000 })),
        moveTo: v.optional(v.path()),
        webhook: v.optional(v.string({ min: 1, max: 2000 })),
        mqtt: v.optional(v.object({ url: v.string({ min: 1, max: 2000 }), topic: v.string({ min: 1, max: 1000 }) })),
        alarmAfterFails: v.optional(v.int({ min: 1, max: 10_000 })),
      }),
      'Starts a station (one at a time) in the server process: watches `input`, inspects each image once complete, stores the results as an inspection run. `out` defaults to the data folder.',
    ),
    stop: command<{ stopped: boolean }>()(v.object({ stationId }), 'Stops the station cleanly (the current image is finished and recorded); its run is completed.'),
    status: query<StationStatus | null>()(none, 'The running station (or the last one) with its counters, recent results and scores, and the alarm; null when none has run.'),
    acknowledgeAlarm: command<StationStatus>()(v.object({ stationId }), 'Lowers the alarm; it is raised again after the next N fails in a row.'),
    runs: query<StationRun[]>()(v.object({ limit: v.optional(v.int({ min: 1, max: 1000 })) }), 'Runs of stations (shifts), newest first, for reports.'),
  },
  audit: {
    list: query<AuditPage>()(
      v.object({ ...auditFilters, offset: v.optional(v.int({ min: 0 })), limit: v.optional(v.int({ min: 1, max: 1000 })) }),
      'A page of the append-only audit log (labels, masks, thresholds, activations, deletions), newest first: `fromMs`/`toMs` (epoch ms, inclusive), `kinds` (`entity.action`), `search` (text in the subject, kind, dataset or values), `datasetId`; default 100 per page.',
    ),
    kinds: query<string[]>()(none, 'The kinds of event (`entity.action`) present in the audit log, sorted.'),
    exportCsv: command<{ path: string; rows: number }>()(
      v.object({ ...auditFilters, outPath: v.path(), overwrite: v.optional(v.boolean()) }),
      'Writes the events matching the filters as CSV (UTF-8, a header, newest first, formula-looking cells neutralised); an existing file is refused (CONFLICT) unless overwrite is true.',
    ),
  },
  review: {
    queue: query<ReviewQueue>()(
      v.object({
        runId: v.id(),
        band: v.optional(v.object({ low: v.number(), high: v.number() })),
        pending: v.optional(v.boolean()),
        offset: v.optional(v.int({ min: 0 })),
        limit: v.optional(v.int({ min: 1, max: 1000 })),
      }),
      'The results of an inspection run in review order: inside the band (default: calibrated distance to the threshold at most DEFAULT_REVIEW_BAND_FRACTION) closest to the threshold first, then fails, then the rest; each with its decision; with the progress. `pending` true: only undecided results.',
    ),
    decide: command<ReviewDecideResult>()(
      v.object({ runId: v.id(), resultIds: v.array(v.id(), { min: 1, max: 10_000 }), decision: v.oneOf(REVIEW_DECISIONS), defectTypeId: v.optional(v.nullable(v.id())) }),
      'One decision on one or many results of a run (one batch, audited with who made it): good adds the picture to the dataset as a normal training image, defect as a defective one (then paint its mask), skip changes nothing; by content, never twice. Deciding again replaces the earlier decision.',
    ),
    undo: command<ReviewUndoResult>()(v.object({ runId: v.id() }), 'Takes back the newest batch of decisions of a run (audited): the images are as they were before it.'),
    progress: query<ReviewProgress>()(v.object({ runId: v.id() }), '"N of M reviewed" of a run, with the counts per decision.'),
    retrain: command<JobRef & { runId: number; replaces: number }>()(
      v.object({ modelId: v.id(), preset: v.optional(v.oneOf(TRAINING_PRESETS)), backboneId: v.optional(v.string({ min: 1, max: 100 })), params: v.optional(trainingParams) }),
      'Trains the next version of a model on its dataset as it now is, with the same settings unless changed (a training job); the new version records the one it replaces.',
    ),
    compare: query<ReviewComparison>()(
      v.object({ modelIdA: v.id(), modelIdB: v.id() }),
      'A version (A) and the one trained after the review (B): the frozen test split as models.compare, plus every reviewed image scored by both, with the false alarms and misses B fixes or introduces.',
    ),
  },
} as const satisfies Record<string, Record<string, MethodDef<unknown, unknown>>>;

// ---------------------------------------------------------------------------------------
// Types and helpers derived from the contract.

export type Contract = typeof contract;
export type Group = keyof Contract;
export type MethodId = { [G in Group]: `${G}.${keyof Contract[G] & string}` }[Group];

type DefOf<M extends MethodId> = M extends `${infer G extends Group}.${infer N}` ? (N extends keyof Contract[G] ? Contract[G][N] : never) : never;
export type ArgsOf<M extends MethodId> = DefOf<M> extends MethodDef<infer A, unknown> ? A : never;
export type ResultOf<M extends MethodId> = DefOf<M> extends MethodDef<unknown, infer R> ? R : never;
type DefArgs<D> = D extends { args: Validator<infer A> } ? A : never;
type DefResult<D> = D extends MethodDef<unknown, infer R> ? R : never;

/** Every method as a function of its arguments; `Wrap` chooses what it returns. */
export type ApiShape<Wrap extends 'promise' | 'response'> = {
  [G in Group]: {
    [N in keyof Contract[G]]: (
      ...args: {} extends DefArgs<Contract[G][N]> ? [args?: DefArgs<Contract[G][N]>] : [args: DefArgs<Contract[G][N]>]
    ) => Promise<Wrap extends 'promise' ? DefResult<Contract[G][N]> : ApiResponse<DefResult<Contract[G][N]>>>;
  };
};

/** What the preload exposes as `window.api`: every method (answers an ApiResponse) + events. */
export type PreloadApi = ApiShape<'response'> & { onEvent(listener: (event: ApiEvent) => void): () => void };

/** Server-side implementation of every method (arguments already validated). */
export type ApiHandlers = { [M in MethodId]: (args: ArgsOf<M>) => Promise<ResultOf<M>> };

export interface MethodEntry {
  id: MethodId;
  group: Group;
  name: string;
  def: MethodDef<unknown, unknown>;
}

/** Every method of the contract, in declaration order. */
export const methods: readonly MethodEntry[] = Object.entries(contract).flatMap(([group, defs]) =>
  Object.entries(defs).map(([name, def]) => ({ id: `${group}.${name}` as MethodId, group: group as Group, name, def: def as MethodDef<unknown, unknown> })),
);

const byId = new Map<string, MethodEntry>(methods.map((m) => [m.id, m]));

export function isMethodId(id: unknown): id is MethodId {
  return typeof id === 'string' && byId.has(id);
}

export function methodEntry(id: MethodId): MethodEntry {
  return byId.get(id)!;
}

/** Validates the arguments of a call; throws AppError('BAD_ARGUMENT') with the field named. */
export function parseArgs<M extends MethodId>(id: M, args: unknown): ArgsOf<M> {
  return byId.get(id)!.def.args.parse(args, 'args') as ArgsOf<M>;
}

/** IPC channel of a method (Electron). */
export const ipcChannel = (id: MethodId): string => `bgad:api:${id}`;
/** IPC channel on which the main process pushes ApiEvents to its window. */
export const IPC_EVENT_CHANNEL = 'bgad:event';
/** HTTP route of a method (browser mode). */
export const httpRoute = (id: MethodId): string => `/api/${id}`;
/** WebSocket path for ApiEvents (browser mode). */
export const EVENTS_PATH = '/api/events';
/**
 * Path (relative to the app's origin) serving images and heat maps through the path guard:
 * `?path=<absolute path>`, plus `&thumb=<px>` for a JPEG preview whose longer side is at most px.
 */
export const FILES_PATH = '/files';
/** Preview sizes the files route renders; other values are refused. */
export const THUMB_SIZES_PX = [64, 96, 128, 160, 192, 256, 320, 384, 512] as const;
export type ThumbSizePx = (typeof THUMB_SIZES_PX)[number];
/** The custom protocol's origin in the desktop app. */
export const APP_PROTOCOL = 'bgad';
export const APP_ORIGIN = `${APP_PROTOCOL}://app`;

export type ArgsValidator<M extends MethodId> = Validator<ArgsOf<M>>;
export type { Infer };
