/**
 * The options and progress of an inspection run. Its results (one file's outcome, the model's
 * description, the run summary) are records of model/records.ts, shared with the reports.
 */
import type { ModelBundle } from '../bgad/bundle';
import type { EngineProgress } from '../common/engine-protocol';
import type { ReportFormat, InspectionFileResult } from '../model/records';
import type { ExecutionProvider, ReviewBand } from '../common/records';

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
  /**
   * A review band (scores in (low, high] get the verdict review): `'model'` for the model's own
   * (BAD_ARGUMENT when it has none), or one for this run; absent or null: none, as before.
   * It must hold the threshold used.
   */
  reviewBand?: ReviewBand | 'model' | null;
  include?: string[];
  exclude?: string[];
  /** Reports to write at the end (results.jsonl is always written); default pdf and csv. */
  formats?: ReportFormat[];
  /** ONNX Runtime intra-op threads (default 1; the other cores decode images and encode heat maps). */
  threads?: number;
  /** Let ORT's idle threads spin (only for an otherwise idle machine). */
  spin?: boolean;
  /**
   * Run the backbone and the scoring head each in its own worker thread, with two images in
   * flight (default true; false: both in this thread, one image at a time).
   */
  workers?: boolean;
  executionProvider?: ExecutionProvider;
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
