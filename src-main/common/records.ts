/**
 * The data layer's records, written once (pure: imports nothing outside src-main/common).
 * The services (src-main/services) return these, and the API contract (./api.ts) re-exports
 * them, so the adapter passes them through unchanged. Two records differ between the two
 * sides only in how a file is named: the data layer keeps a data-folder-relative file
 * (`StoredMaskInfo.file`, `StoredInspectionResult.heatmapFile`), the API an absolute path
 * (`MaskInfo.path`, `InspectionResult.heatmapPath`); both are built from one set of fields.
 *
 * Plain JSON except where Uint8Array is stated; ids are positive integers; times are epoch
 * milliseconds (`*Ms`).
 */

// ---------------------------------------------------------------------------------------
// Value sets (runtime lists for validation, and their types).

/** ONNX Runtime execution providers the engine knows, in the order the UI lists them (the one list: contract, CLI, engine). */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'dml', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export const IMAGE_LABELS = ['good', 'defect', 'unlabelled'] as const;
export type ImageLabel = (typeof IMAGE_LABELS)[number];

export const IMAGE_SPLITS = ['train', 'val', 'test'] as const;
export type ImageSplit = (typeof IMAGE_SPLITS)[number];

/** States of a training or inspection run. */
export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** `review`: the score lies in the model's review band (common/review-band.ts), so a person decides. */
export const VERDICTS = ['pass', 'fail', 'error', 'review'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** A review band: scores with low < score <= high get the verdict `review` (common/review-band.ts). */
export interface ReviewBand {
  low: number;
  high: number;
}

/** What is known of one inspected file, in memory and in the results log alike. */
export interface FileOutcome {
  /** sha256 of the file's bytes; null when the file could not be read at all. */
  sha256: string | null;
  /** Image score (max of the anomaly map); null for files that could not be inspected. */
  score: number | null;
  /** fail when score > threshold; review inside the review band (when one is used); error when the file could not be inspected. */
  verdict: Verdict;
  /** Why the file could not be inspected (the AppError message), else null. */
  error: string | null;
  errorCode: string | null;
  /** Picture files (null when not written). */
  heatmap: string | null;
  overlay: string | null;
  thumbnail: string | null;
  overlayThumbnail: string | null;
  /** Original image size (after EXIF orientation). */
  width: number | null;
  height: number | null;
}

export const MODEL_STATUSES = ['draft', 'ready', 'failed', 'archived'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export type ImportLayout = 'mvtec' | 'plain';
export type ImportRunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted';

// ---------------------------------------------------------------------------------------
// Datasets, images, defect types, masks.

export interface Dataset {
  id: number;
  name: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface DatasetSummary extends Dataset {
  imageCount: number;
  counts: { good: number; defect: number; unlabelled: number; train: number; val: number; test: number; unassigned: number; masked: number };
  defectTypes: number;
  modelVersions: number;
  activeModelVersionId: number | null;
}

export interface ImageRecord {
  id: number;
  datasetId: number;
  /** Absolute path of the original file (images are referenced, not copied). */
  path: string;
  sha256: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  format: string;
  bytes: number;
  label: ImageLabel;
  split: ImageSplit | null;
  defectTypeId: number | null;
  defectType: string | null;
  /** Where it came from inside the imported folder, e.g. `train/crack/001.png`. */
  source: string | null;
  importRunId: number | null;
  maskCount: number;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface ImagePage {
  items: ImageRecord[];
  /** Matches over all pages (null when the count was not asked for). */
  total: number | null;
  /** Pass as `cursor` for the next page (faster than offsets deep into a list); null on the last page. */
  nextCursor: string | null;
}

export interface DefectType {
  id: number;
  datasetId: number;
  name: string;
  /** `#rrggbb` */
  colour: string;
}

interface MaskFields {
  id: number;
  imageId: number;
  defectTypeId: number;
  defectType: string;
  width: number;
  height: number;
  areaPx: number;
  createdAtMs: number;
  updatedAtMs: number;
}

/** A mask as the data layer stores it. */
export interface StoredMaskInfo extends MaskFields {
  /** Data-folder-relative path of the lossless PNG. */
  file: string;
}

/** A mask as the API returns it. */
export interface MaskInfo extends MaskFields {
  /** Absolute path of the lossless PNG (display it with the client's `fileUrl`). */
  path: string;
}

/** A mask's pixels at the image's full resolution: one byte per pixel, row-major, 1 = defect, 0 = background. */
export interface MaskPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

// ---------------------------------------------------------------------------------------
// Imports.

/** `EngineProgress.data` of import jobs. */
export interface ImportProgress {
  phase: 'scanning' | 'importing' | 'done';
  /** Image files found. */
  total: number;
  processed: number;
  imported: number;
  duplicates: number;
  rejected: number;
  masks: number;
}

export interface ImportProblem {
  /** Path relative to the imported folder. */
  path: string;
  reason: string;
  code?: string;
}

export interface ImportDuplicate {
  path: string;
  sha256: string;
  /** The path already in the dataset (or earlier in this import) with the same content. */
  duplicateOf: string;
}

/** Result of an import job. */
export interface ImportSummary {
  importRunId: number;
  datasetId: number;
  layout: ImportLayout;
  status: 'completed' | 'cancelled';
  total: number;
  imported: number;
  duplicates: ImportDuplicate[];
  rejected: ImportProblem[];
  /** Masks copied in. */
  masks: number;
  /** Defect images whose mask is missing, unreadable or of the wrong size (the image itself was imported). */
  maskProblems: ImportProblem[];
  /** Files skipped because they are not images by extension. */
  ignoredFiles: number;
  defectTypes: string[];
  /** Imported images per `label/split[/type]`. */
  counts: Record<string, number>;
  durationMs: number;
}

export interface ImportRun {
  id: number;
  datasetId: number;
  source: string;
  layout: ImportLayout;
  status: ImportRunStatus;
  total: number;
  imported: number;
  duplicates: number;
  rejected: number;
  masks: number;
  problems: ImportProblem[];
  error: string | null;
  startedAtMs: number;
  finishedAtMs: number | null;
}

// ---------------------------------------------------------------------------------------
// Training runs and model versions.

export interface TrainingRun {
  id: number;
  datasetId: number;
  status: RunStatus;
  config: unknown;
  /** 0..1 */
  progress: number;
  /** Last step whose progress (and loss points) were recorded. */
  step: number;
  message: string | null;
  /** Named durations in milliseconds (e.g. features, training, calibration). */
  timings: Record<string, number>;
  error: string | null;
  pid: number | null;
  heartbeatAtMs: number | null;
  resumeOf: number | null;
  modelVersionId: number | null;
  createdAtMs: number;
  startedAtMs: number | null;
  finishedAtMs: number | null;
}

export interface ModelVersion {
  id: number;
  datasetId: number;
  number: number;
  name: string | null;
  backboneId: string;
  backboneHash: string;
  config: unknown;
  /** Data-folder-relative path of the model bundle, when saved. */
  bundleFile: string | null;
  /** Calibration (explicit boundary, score normalisation) as written by training. */
  calibration: unknown;
  threshold: number | null;
  /** Scores in (low, high] get the verdict `review` (set in the Models view); null: none. */
  reviewBand: ReviewBand | null;
  /** Metrics on the frozen evaluation split (imageAuroc, pixelAuroc, aupro, ...). */
  metrics: Record<string, unknown>;
  evalSplit: unknown;
  status: ModelStatus;
  parentId: number | null;
  trainingRunId: number | null;
  isActive: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface ValueDiff {
  path: string;
  a: unknown;
  b: unknown;
}

export interface ModelComparison {
  a: ModelVersion;
  b: ModelVersion;
  sameBackbone: boolean;
  /** Whether both were measured on the same frozen evaluation split (metrics comparable). */
  sameEvalSplit: boolean;
  thresholdDelta: number | null;
  /** Numeric metrics present in either: value in a, in b, and b - a. */
  metrics: { key: string; a: number | null; b: number | null; delta: number | null }[];
  /** Config leaves that differ. */
  configDiff: ValueDiff[];
}

// ---------------------------------------------------------------------------------------
// Inspection runs and results.

export interface InspectionRun {
  id: number;
  datasetId: number | null;
  modelVersionId: number | null;
  source: string;
  threshold: number | null;
  /** The review band in force when the run started; null: none. */
  reviewBand: ReviewBand | null;
  status: RunStatus;
  pid: number | null;
  heartbeatAtMs: number | null;
  error: string | null;
  createdAtMs: number;
  startedAtMs: number | null;
  finishedAtMs: number | null;
}

export interface InspectionSummary {
  total: number;
  pass: number;
  fail: number;
  error: number;
  review: number;
  minScore: number | null;
  maxScore: number | null;
  meanScore: number | null;
}

interface InspectionResultFields {
  id: number;
  runId: number;
  path: string;
  sha256: string;
  score: number | null;
  verdict: Verdict;
  error: string | null;
  createdAtMs: number;
}

/** An inspection result as the data layer stores it. */
export interface StoredInspectionResult extends InspectionResultFields {
  /** Data-folder-relative heat-map image, when kept. */
  heatmapFile: string | null;
}

/** An inspection result as the API returns it. */
export interface InspectionResult extends InspectionResultFields {
  /** Absolute path of the heat map PNG, when kept (display it with `fileUrl`). */
  heatmapPath: string | null;
}
