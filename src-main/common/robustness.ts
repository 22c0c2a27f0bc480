/**
 * The unseen-defect robustness report (pure types and helpers): "will this model catch a
 * defect we have never seen?". For a dataset with several defect types: the unsupervised
 * baseline (no known anomalies), one model with every type known, and one model per type with
 * that type held out of the known anomalies; per type, its image AUROC, pixel AUROC and recall
 * at the threshold when seen, unseen and with none known. Made by training/robustness.ts (the
 * CLI's `bgad eval --leave-one-type-out` and the app's `models.robustness` job), stored by
 * db/robustness.ts, exported by reports/robustness.ts.
 */

/** One protocol's figures for one defect type. */
export interface RobustnessFigures {
  imageAuroc: number;
  /** Null where the test images have no masks. */
  pixelAuroc: number | null;
  /** Share of the type's test images that fail at the model's threshold. */
  recall: number;
}

/** One defect type's row. `seen`/`unseen` are null where that run did not score the type. */
export interface RobustnessRow {
  type: string;
  /** The type's test images (scored by the baseline). */
  count: number;
  baseline: RobustnessFigures;
  seen: RobustnessFigures | null;
  unseen: RobustnessFigures | null;
}

/** Per-type figures of one run (the evaluation's `perType`). */
export interface RobustnessTypeMetrics extends RobustnessFigures {
  aupro: number | null;
  count: number;
  seen: boolean;
}

/** One training and evaluation of the report (what `bgad eval --json` writes for one run). */
export interface RobustnessRun {
  dataset: string;
  imageAuroc: number;
  pixelAuroc: number | null;
  aupro: number | null;
  f1: number;
  threshold: number;
  perType: Record<string, RobustnessTypeMetrics>;
  /** Mean image AUROC of the defect types no known anomaly came from (null when all were seen). */
  unseenMeanImageAuroc: number | null;
  trainSeconds: number;
  totalSeconds: number;
  featureMsPerImage: number | null;
  inferMsPerImage: number;
  peakRssMb: number;
  anomaliesUsed: number;
  anomalies: { type: string; file: string | undefined }[];
  protocol: 'unsupervised' | 'seen' | 'unseen';
  backbone: string;
  /** The model's input height x width (bgad/geometry.ts: S x S, or an aspect model's). */
  input?: { height: number; width: number };
  preset: string;
  seed: number;
  steps: number;
  nanSteps: number;
  testCounts: { good: number; defective: number };
  skippedImages: { path: string; reason: string }[];
  note: string;
}

export interface RobustnessReport {
  dataset: string;
  backbone: string;
  preset: string;
  seed: number;
  /** The defect types, one row each, in this order. */
  types: string[];
  rows: RobustnessRow[];
  /** Mean image AUROC over the types, per protocol (null where no type has a figure). */
  meanImageAuroc: { seen: number | null; unseen: number | null; baseline: number | null };
  /** Every run: the baseline, all types known, then one per held-out type (in `types` order). */
  runs: RobustnessRun[];
}

/** A report as the app stores it (`models.robustnessReports`). */
export interface RobustnessReportRecord {
  id: number;
  datasetId: number;
  /** What it was asked with: preset, backbone, parameters. */
  config: Record<string, unknown>;
  report: RobustnessReport;
  createdAtMs: number;
  /** How long the job took (all trainings and evaluations). */
  durationMs: number;
}

/** The protocols of a row, in the order the table and chart show them. */
export const ROBUSTNESS_PROTOCOLS = ['seen', 'unseen', 'baseline'] as const;
export type RobustnessProtocol = (typeof ROBUSTNESS_PROTOCOLS)[number];

/** Column headings of the protocols (table, chart, CSV, PDF). */
export const ROBUSTNESS_PROTOCOL_LABELS: Readonly<Record<RobustnessProtocol, string>> = {
  seen: 'seen (type known)',
  unseen: 'unseen (type held out)',
  baseline: 'baseline (no known anomalies)',
};

/** Bar colours of the protocols (the Models view's chart and the PDF). */
export const ROBUSTNESS_COLOURS: Readonly<Record<RobustnessProtocol, string>> = { seen: '#2f6fec', unseen: '#e07b18', baseline: '#8a94a3' };

/** Mean of the finite values (null when none). */
export function meanOf(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}
