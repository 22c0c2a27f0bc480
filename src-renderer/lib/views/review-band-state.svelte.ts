/**
 * The review band of a model version in the Models view (issue 20), beside the threshold: the
 * band as saved, the two ends as typed, the default proposal (threshold at 1 % to 0.1 %
 * false-reject rate of the calibration normals), what the band would send to review on the
 * frozen test split, and saving or clearing it (`models.setReviewBand`, audited).
 */
import type { ReviewBand, ScoreHistogram } from '../../../src-main/common/api';
import { judge } from '../../../src-main/common/review-band';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { fmt } from '../format';

export type ReviewBandApi = Pick<ApiClient, 'models'>;

/** Share of the test split's good and defective images whose verdict the band turns into review. */
export function reviewShares(scores: ScoreHistogram['scores'], threshold: number, band: ReviewBand): { normal: number; defect: number } {
  const share = (list: number[]) => (list.length ? list.filter((s) => judge(s, threshold, band) === 'review').length / list.length : 0);
  return { normal: share(scores.normal), defect: share(scores.defect) };
}

/** A number as typed in a band field (null when empty or not a number). */
const parse = (text: string): number | null => {
  const t = text.trim();
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
};

export class ReviewBandState {
  readonly #api: ReviewBandApi;
  readonly #app: AppState;

  /** The band as stored for the version shown. */
  saved = $state.raw<ReviewBand | null>(null);
  low = $state('');
  high = $state('');
  busy = $state(false);
  modelId = $state<number | null>(null);

  /** The band as typed, when both ends are numbers. */
  readonly typed = $derived.by((): ReviewBand | null => {
    const low = parse(this.low);
    const high = parse(this.high);
    return low !== null && high !== null ? { low, high } : null;
  });
  /** The typed band differs from the stored one. */
  readonly changed = $derived(!sameBand(this.typed, this.saved) && !(this.typed === null && !this.low.trim() && !this.high.trim() && this.saved === null));

  constructor(api: ReviewBandApi, app: AppState) {
    this.#api = api;
    this.#app = app;
  }

  /** A version's histogram arrived: its stored band fills the fields. */
  show(h: ScoreHistogram | null): void {
    this.modelId = h?.modelId ?? null;
    this.saved = h?.reviewBand ?? null;
    this.#fill(this.saved);
  }

  /** What is wrong with the typed band for this threshold, in words; null when it can be saved. */
  problem(threshold: number | null): string | null {
    if (!this.low.trim() && !this.high.trim()) return null;
    const b = this.typed;
    if (!b) return 'Give both ends as numbers.';
    if (!(b.low < b.high)) return 'The low end must be below the high end.';
    if (threshold !== null && (threshold < b.low || threshold > b.high)) return `The band must hold the threshold ${fmt(threshold, 4)}.`;
    return null;
  }

  useProposal(h: ScoreHistogram | null): void {
    if (h?.reviewBandProposal) this.#fill(h.reviewBandProposal);
  }

  reset(): void {
    this.#fill(this.saved);
  }

  async save(threshold: number | null): Promise<void> {
    const modelId = this.modelId;
    const band = this.typed;
    if (modelId === null || !band || this.problem(threshold)) return;
    await this.#set(modelId, band, `Review band set: images scoring above ${fmt(band.low, 4)} and up to ${fmt(band.high, 4)} get the verdict review.`);
  }

  async clear(): Promise<void> {
    if (this.modelId === null) return;
    await this.#set(this.modelId, null, 'Review band cleared: every image passes or fails again.');
  }

  async #set(modelId: number, band: ReviewBand | null, message: string): Promise<void> {
    this.busy = true;
    try {
      const mv = await this.#api.models.setReviewBand({ modelId, band });
      if (this.modelId === modelId) {
        this.saved = mv.reviewBand;
        this.#fill(mv.reviewBand);
      }
      this.#app.notify({ kind: 'info', message });
      void this.#app.invalidate('models');
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.busy = false;
    }
  }

  #fill(b: ReviewBand | null): void {
    // rounded outwards, so a band that holds the threshold still does as shown
    this.low = b ? String(rounded(b.low, -1)) : '';
    this.high = b ? String(rounded(b.high, 1)) : '';
  }
}

/** `x` to 7 significant digits, rounded down (-1) or up (1). */
export function rounded(x: number, dir: -1 | 1): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const p = Number(x.toPrecision(7));
  if (dir < 0 ? p <= x : p >= x) return p;
  const step = 10 ** (Math.floor(Math.log10(Math.abs(x))) - 6);
  return Number((p + dir * step).toPrecision(7));
}

function sameBand(a: ReviewBand | null, b: ReviewBand | null): boolean {
  if (!a || !b) return a === b;
  const near = (x: number, y: number) => Math.abs(x - y) <= 1e-5 * Math.max(1e-9, Math.abs(y));
  return near(a.low, b.low) && near(a.high, b.high);
}
