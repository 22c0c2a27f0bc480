/**
 * The review queue's state and logic (no DOM), shown in the Inspect view for the run chosen
 * there: the run's results in review order (the band around the threshold, then fails, then
 * the rest), a cursor and a selection (click, Shift+click for a range, Ctrl+click to add or
 * remove one), one key per decision (G good, D defect, S skip; on the selection when there is
 * one, else on the result under the cursor), Ctrl+Z undo, the progress "N of M reviewed", and
 * the retrain from the review. A single result marked defect opens in the annotator with its
 * heat map shown, to paint the mask.
 */
import { untrack } from 'svelte';
import type { ReviewBand, ReviewDecision, ReviewItem, ReviewQueue } from '../../../src-main/common/api';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { fmtInt } from '../format';
import { showHeatmapNext } from '../review-handoff';

/** The part of the API client the queue uses. */
export type ReviewApi = Pick<ApiClient, 'review'>;

/** Results loaded at once (the queue's order puts those that need a look first). */
export const REVIEW_PAGE = 500;

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
  altKey?: boolean;
}

export class ReviewState {
  readonly #api: ReviewApi;
  readonly #app: AppState;
  readonly #getRunId: () => number | null;
  readonly #getBand: () => ReviewBand | undefined;

  queue = $state.raw<ReviewQueue | null>(null);
  /** Index of the result under the cursor. */
  cursor = $state(0);
  /** Result ids selected for a bulk decision. */
  selected = $state.raw<ReadonlySet<number>>(new Set());
  busy = $state(false);
  retrainJobId = $state<string | null>(null);
  #anchor = 0;
  #loadToken = 0;

  readonly items = $derived<ReviewItem[]>(this.queue?.items ?? []);
  readonly current = $derived<ReviewItem | null>(this.items[this.cursor] ?? null);
  readonly progress = $derived(this.queue?.progress ?? null);
  /** "3 of 40 reviewed" */
  readonly progressText = $derived(this.progress ? `${fmtInt(this.progress.reviewed)} of ${fmtInt(this.progress.total)} reviewed` : '');
  readonly retrainJob = $derived.by(() => (this.retrainJobId ? this.#app.jobs[this.retrainJobId] ?? null : null));
  /** The version the retrain made, once it has completed. */
  readonly retrained = $derived.by(() => {
    const r = this.retrainJob?.status === 'completed' ? (this.retrainJob.result as { modelVersionNumber?: number; modelVersionId?: number } | undefined) : undefined;
    return r?.modelVersionId ? { id: r.modelVersionId, number: r.modelVersionNumber ?? null } : null;
  });

  constructor(api: ReviewApi, app: AppState, opts: { runId: () => number | null; band?: () => ReviewBand | undefined }) {
    this.#api = api;
    this.#app = app;
    this.#getRunId = opts.runId;
    this.#getBand = opts.band ?? (() => undefined);

    // the queue of the run shown (new results while a batch runs: 'inspections'; decisions made elsewhere: 'images')
    $effect(() => {
      const id = this.#getRunId();
      void this.#getBand();
      app.version('inspections');
      app.version('images');
      untrack(() => void this.load(id));
    });
  }

  async load(runId: number | null = this.#getRunId()): Promise<void> {
    const token = ++this.#loadToken;
    if (!runId) {
      this.queue = null;
      return;
    }
    try {
      const q = await this.#api.review.queue({ runId, band: this.#getBand(), limit: REVIEW_PAGE });
      if (token !== this.#loadToken) return;
      const keep = this.queue?.runId === runId ? this.current?.id : undefined;
      this.queue = q;
      const at = keep === undefined ? -1 : q.items.findIndex((i) => i.id === keep);
      this.cursor = at >= 0 ? at : Math.max(0, q.items.findIndex((i) => i.decision === null));
      this.selected = new Set([...this.selected].filter((id) => q.items.some((i) => i.id === id)));
    } catch (e) {
      if (token === this.#loadToken) this.#app.fail(e);
    }
  }

  /** A row clicked: the cursor moves there; Shift selects the range from the last click, Ctrl (or ⌘) adds or removes the row. */
  click(index: number, mods: { shiftKey?: boolean; ctrlKey?: boolean; metaKey?: boolean } = {}): void {
    const item = this.items[index];
    if (!item) return;
    if (mods.shiftKey) {
      const [a, b] = [Math.min(this.#anchor, index), Math.max(this.#anchor, index)];
      this.selected = new Set(this.items.slice(a, b + 1).map((i) => i.id));
    } else if (mods.ctrlKey || mods.metaKey) {
      const next = new Set(this.selected);
      if (next.has(item.id)) next.delete(item.id);
      else next.add(item.id);
      this.selected = next;
      this.#anchor = index;
    } else {
      this.selected = new Set();
      this.#anchor = index;
    }
    this.cursor = index;
  }

  move(by: number, extend = false): void {
    if (!this.items.length) return;
    const next = Math.min(this.items.length - 1, Math.max(0, this.cursor + by));
    if (extend) this.click(next, { shiftKey: true });
    else {
      this.cursor = next;
      this.#anchor = next;
    }
  }

  /** One key of the queue; true when it was the queue's (its default action is then not wanted). */
  key(e: KeyInput): boolean {
    if (e.altKey) return false;
    const k = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && k === 'z' && !e.shiftKey) {
      void this.undo();
      return true;
    }
    if (e.ctrlKey || e.metaKey) return false;
    if (k === 'g') void this.decide('good');
    else if (k === 'd') void this.decide('defect');
    else if (k === 's') void this.decide('skip');
    else if (e.key === 'ArrowDown' || k === 'j') this.move(1, e.shiftKey);
    else if (e.key === 'ArrowUp' || k === 'k') this.move(-1, e.shiftKey);
    else if (e.key === 'Escape') this.selected = new Set();
    else return false;
    return true;
  }

  /** The selection's results, else the one under the cursor. */
  #targets(): ReviewItem[] {
    if (this.selected.size) return this.items.filter((i) => this.selected.has(i.id));
    return this.current ? [this.current] : [];
  }

  async decide(decision: ReviewDecision): Promise<void> {
    const runId = this.queue?.runId;
    const targets = this.#targets();
    if (!runId || !targets.length || this.busy) return;
    this.busy = true;
    try {
      const r = await this.#api.review.decide({ runId, resultIds: targets.map((t) => t.id), decision });
      this.selected = new Set();
      const last = Math.max(...targets.map((t) => this.items.indexOf(t)));
      await this.load(runId);
      // on to the next result not decided yet, after the last one decided
      const next = this.items.findIndex((i, n) => n > last && i.decision === null);
      this.cursor = next >= 0 ? next : Math.min(last + 1, Math.max(0, this.items.length - 1));
      this.#anchor = this.cursor;
      if (decision !== 'skip') void this.#app.invalidate('images', 'datasets');
      const painted = r.decided.filter((d) => d.imageId !== null);
      if (decision === 'defect' && painted.length === 1) {
        showHeatmapNext(painted[0]!.imageId!);
        await this.#app.go({ view: 'annotate', imageId: painted[0]!.imageId! });
      } else if (decision === 'defect') {
        this.#app.notify({ kind: 'info', message: `${painted.length} images marked defective: paint their masks in the annotator (Annotate view) before retraining.` });
      }
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.busy = false;
    }
  }

  async undo(): Promise<void> {
    const runId = this.queue?.runId;
    if (!runId || this.busy) return;
    this.busy = true;
    try {
      const r = await this.#api.review.undo({ runId });
      if (r.batch === null) this.#app.notify({ kind: 'info', message: 'Nothing to undo in this run.' });
      else {
        this.#app.notify({ kind: 'info', message: `Undone: ${r.undone.length === 1 ? `the ${r.undone[0]!.decision} decision` : `${r.undone.length} decisions`}.` });
        await this.load(runId);
        const back = this.items.findIndex((i) => i.id === r.undone.at(-1)?.resultId);
        if (back >= 0) this.cursor = this.#anchor = back;
        void this.#app.invalidate('images', 'datasets');
      }
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.busy = false;
    }
  }

  /** Trains the next version of the run's model on the dataset as it now is (same settings). */
  async retrain(): Promise<void> {
    const modelId = this.queue?.modelVersionId;
    if (!modelId) {
      this.#app.notify({ kind: 'error', message: 'The model of this run was deleted.', hint: 'Train a model in the Training view.' });
      return;
    }
    try {
      const r = await this.#api.review.retrain({ modelId });
      this.#app.started('training', r.jobId, r.runId);
      this.retrainJobId = r.jobId;
    } catch (e) {
      this.#app.fail(e);
    }
  }

  /** The Models view, where the new version is compared with the one it replaces. */
  compare(): Promise<boolean> {
    return this.#app.go({ view: 'models' });
  }
}
