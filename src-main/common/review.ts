/**
 * The review loop's records (pure): an inspection run's results put in the order a human look
 * helps most (the review band around the threshold, then fails, then the rest), the decision on
 * each (good, defect, skip), the progress, and what a retrained version fixes or introduces on
 * the reviewed images. The data layer (src-main/db/review.ts) and the `review` services
 * (src-main/services/review.ts) return them; the API contract re-exports them.
 */
import type { InspectionResult, ModelComparison, ReviewBand } from './records';

export const REVIEW_DECISIONS = ['good', 'defect', 'skip'] as const;
/** good: a false alarm (joins the dataset as a normal training image); defect: a miss or a confirmed defect (joins as defective, to paint); skip: looked at, nothing to do. */
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/** Where a result stands in the queue: inside the review band, a fail outside it, or the rest (passes). */
export type ReviewGroup = 'band' | 'fail' | 'rest';


/**
 * The default band when none is given: scores whose calibrated distance to the threshold,
 * |score - threshold| / span, is at most this, where span = mapMax - threshold is the half width
 * of the model's heat-map colour scale (src-main/model/heat-scale.ts; mapMax is the calibrated
 * maximum of the anomaly map over held-out normal images).
 */
export const DEFAULT_REVIEW_BAND_FRACTION = 0.25;

export interface ReviewProgress {
  runId: number;
  /** Results that can be reviewed (every result except files that could not be inspected). */
  total: number;
  /** Results with a decision (skips included). */
  reviewed: number;
  good: number;
  defect: number;
  skip: number;
  /** Decisions that can still be undone (review.undo takes back the newest batch). */
  undoable: number;
}

export interface ReviewItem extends InspectionResult {
  group: ReviewGroup;
  /** The current decision, or null when not reviewed yet. */
  decision: ReviewDecision | null;
  /** The dataset image the decision added or relabelled (null for skip and undecided). */
  imageId: number | null;
  decidedAtMs: number | null;
}

export interface ReviewQueue {
  runId: number;
  datasetId: number;
  modelVersionId: number | null;
  threshold: number;
  band: ReviewBand;
  /** Whether the band is the default one (no band given). */
  defaultBand: boolean;
  items: ReviewItem[];
  /** Matches over all pages. */
  total: number;
  progress: ReviewProgress;
}

/** What one `review.decide` did. */
export interface ReviewDecideResult {
  /** The batch's number (what `review.undo` takes back at once). */
  batch: number;
  decided: { resultId: number; decision: ReviewDecision; imageId: number | null; added: boolean }[];
  progress: ReviewProgress;
}

export interface ReviewUndoResult {
  /** The batch taken back, or null when there was nothing to undo. */
  batch: number | null;
  undone: { resultId: number; decision: ReviewDecision; removedImageId: number | null }[];
  progress: ReviewProgress;
}

/** How a reviewed image fares under a version: right, a false alarm (a good image above the threshold) or a miss (a defect at or below it). */
export type ReviewOutcome = 'right' | 'false-alarm' | 'miss';

export interface ReviewedImageChange {
  imageId: number;
  path: string;
  decision: 'good' | 'defect';
  scoreA: number;
  scoreB: number;
  outcomeA: ReviewOutcome;
  outcomeB: ReviewOutcome;
  /** fixed: wrong under A, right under B; introduced: right under A, wrong under B; else same. */
  change: 'fixed' | 'introduced' | 'same';
}

/** Two versions on the frozen test split (as `models.compare`) plus the reviewed images. */
export interface ReviewComparison {
  comparison: ModelComparison;
  reviewed: ReviewedImageChange[];
  counts: { fixedFalseAlarms: number; fixedMisses: number; introducedFalseAlarms: number; introducedMisses: number; reviewed: number };
}
