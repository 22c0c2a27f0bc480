/** The result types of an inspection (shared by the CLI, the app's services and the reports). */
import type { ModelBundle } from '../bgad/bundle';
import type { EngineProgress } from '../common/engine-protocol';
import type { ExecutionProviderName } from '../runtime/session';

/** The values the database stores (services/inspections VERDICTS). */
export type Verdict = 'pass' | 'fail' | 'error';
export type ReportFormat = 'pdf' | 'csv' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['pdf', 'csv', 'html'];

/** What is known of one inspected file, in memory and in the results log alike. */
export interface FileOutcome {
  /** sha256 of the file's bytes; null when the file could not be read at all. */
  sha256: string | null;
  /** Image score (max of the anomaly map); null for files that could not be inspected. */
  score: number | null;
  /** fail when score > threshold; error when the file could not be inspected. */
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

/** One file's result; its pictures are absolute paths. */
export interface InspectionFileResult extends FileOutcome {
  /** Absolute path of the file. */
  path: string;
  /** Path relative to the inspected folder, `/`-separated (as in the reports). */
  rel: string;
  /** True when the result comes from an earlier run of the same folder (resume). */
  resumed: boolean;
}

export interface ModelInfo {
  file: string | null;
  sha256: string;
  createdAt: string;
  backboneId: string;
  backboneSha256: string;
  inputSize: number;
  /** The model's own threshold and how it was derived. */
  threshold: number;
  thresholdRule: ModelBundle['meta']['thresholdRule'];
  /** Calibrated map maximum K (the top of the heat-map colour scale). */
  mapMax: number;
  trainingSteps: number | null;
  knownAnomalies: number;
}

export interface InspectionSummary {
  input: string;
  out: string;
  model: ModelInfo;
  /** The threshold used: the model's unless overridden. */
  threshold: number;
  thresholdSource: 'model' | 'override';
  total: number;
  pass: number;
  fail: number;
  error: number;
  /** Files taken from an earlier run (resume) rather than inspected now. */
  resumed: number;
  /** Files inspected (scored or failed) in this run. */
  inspected: number;
  /** Every file in folder order. */
  results: InspectionFileResult[];
  startedAt: string;
  /** Wall time of this run, model loading and reports included. */
  elapsedMs: number;
  /** From the first file read to the last result written (this run's files only). */
  inspectMs: number;
  imagesPerSecond: number;
  msPerImage: number;
  peakRssMb: number;
  /** Report files written (absolute paths). */
  reports: Partial<Record<ReportFormat | 'jsonl', string>>;
}

export interface InspectionProgress extends EngineProgress {
  done: number;
  total: number;
  imagesPerSecond: number;
}

export interface InspectFolderOptions {
  /** A .bgad file or a bundle in memory. */
  model: string | ModelBundle;
  input: string;
  out: string;
  /** Overrides the model's threshold. */
  threshold?: number;
  include?: string[];
  exclude?: string[];
  /** Reports to write at the end (results.jsonl is always written); default pdf and csv. */
  formats?: ReportFormat[];
  /** ONNX Runtime intra-op threads (default 1; the other cores decode images and encode heat maps). */
  threads?: number;
  /** Let ORT's idle threads spin (only for an otherwise idle machine). */
  spin?: boolean;
  executionProvider?: ExecutionProviderName;
  /** Backbone cache root; default ./.cache or BGAD_CACHE_DIR. */
  cacheDir?: string;
  /** Images per ONNX Runtime run (default 1). */
  batchSize?: number;
  /** Pixel limit per image (default 100 megapixels). */
  maxPixels?: number;
  /**
   * Largest image file read, in bytes (default 1 GiB, images/load DEFAULT_MAX_FILE_BYTES);
   * larger files get IMAGE_TOO_LARGE without being read.
   */
  maxFileBytes?: number;
  /** Who runs the inspection, in words (e.g. "bgad inspect"): written in the output folder's lock, shown to a second run. */
  owner?: string;
  signal?: AbortSignal;
  onProgress?: (p: InspectionProgress) => void;
  /** Called once per file when its result is safely written (resumed files included, flagged). */
  onResult?: (r: InspectionFileResult) => void | Promise<void>;
}
