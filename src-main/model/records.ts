/**
 * What scoring images with a model produces, as records shared by the code that writes them
 * (inspection/), renders them (reports/), relays them (engine/) and prints them (cli/): one
 * file's outcome, the model's description, an inspection run's summary, the report formats.
 * (The verdict values are common/records.ts `Verdict`, which the database stores.)
 */
import type { ThresholdRule } from '../bgad/bundle';
import type { FileOutcome, ReviewBand, Verdict } from '../common/records';

export type ReportFormat = 'pdf' | 'csv' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['pdf', 'csv', 'html'];

/** One file's outcome: its home is common/records.ts (the engine contract carries it too). */
export type { FileOutcome };

/** One file's result; its pictures are absolute paths. */
export interface InspectionFileResult extends FileOutcome {
  /** Absolute path of the file. */
  path: string;
  /** Path relative to the inspected folder, `/`-separated (as in the reports). */
  rel: string;
  /** True when the result comes from an earlier run of the same folder (resume). */
  resumed: boolean;
  /** When the result was stored (epoch ms): reports of stored results (a station's shift) carry it. */
  inspectedAtMs?: number;
}

export interface ModelInfo {
  file: string | null;
  sha256: string;
  createdAt: string;
  backboneId: string;
  backboneSha256: string;
  inputSize: number;
  /** An aspect model's input height x width (absent: inputSize x inputSize). */
  inputHeight?: number;
  inputWidth?: number;
  /** The model's own threshold and how it was derived. */
  threshold: number;
  thresholdRule: ThresholdRule;
  /** The model's own review band (set in the app), null: none. Whether a run uses it is the report's `reviewBand`. */
  reviewBand?: ReviewBand | null;
  /** Calibrated map maximum K (the top of the heat-map colour scale). */
  mapMax: number;
  trainingSteps: number | null;
  knownAnomalies: number;
}

/**
 * Everything one folder inspection produced: the model, the counts, every file's result and
 * the timing. The reports are made from it (`bgad inspect`'s summary). Not the API's
 * `InspectionSummary` (common/records.ts), which is only a stored run's counts.
 */
export interface InspectionReport {
  input: string;
  out: string;
  model: ModelInfo;
  /** The threshold used: the model's unless overridden. */
  threshold: number;
  thresholdSource: 'model' | 'override';
  /** The review band this run used (null or absent: none; every verdict is then pass, fail or error). */
  reviewBand?: ReviewBand | null;
  total: number;
  pass: number;
  fail: number;
  error: number;
  /** Images in the review band (absent or 0 without one). */
  review?: number;
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
