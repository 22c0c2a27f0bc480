/**
 * What scoring images with a model produces, as records shared by the code that writes them
 * (inspection/), renders them (reports/), relays them (engine/) and prints them (cli/): one
 * file's outcome, the model's description, an inspection run's summary, the report formats.
 * (The verdict values are common/records.ts `Verdict`, which the database stores.)
 */
import type { ThresholdRule } from '../bgad/bundle';
import type { Verdict } from '../common/records';

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
  thresholdRule: ThresholdRule;
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
