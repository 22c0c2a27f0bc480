/**
 * The Models view's state and logic (no DOM): the dataset's model versions, the selected one
 * with the score histogram of its frozen test split and a threshold that can be dragged (the
 * false-reject and miss rates follow it), the ROC curves, a second version to compare with,
 * activation and the ONNX export.
 */
import { untrack } from 'svelte';
import type { ModelComparison, ModelVersion, ScoreHistogram } from '../../../src-main/common/api';
import { ratesAt, rocCurve } from '../../../src-main/common/score-stats';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { SERIES_COLOURS, type Series } from '../charts';
import { fmt } from '../format';
import { confirmedBySaveDialog, withExtension, writeAskingToOverwrite } from '../overwrite';

/** The part of the API client the view uses. */
export type ModelsApi = Pick<ApiClient, 'models' | 'app'>;

export interface ModelsOptions {
  /** Asks before a file is replaced (default: window.confirm). */
  confirm?: (question: string) => boolean;
}

/** Bins of the score histogram. */
const BINS = 30;

export class ModelsState {
  readonly #api: ModelsApi;
  readonly #app: AppState;
  readonly #confirm: (question: string) => boolean;

  models = $state.raw<ModelVersion[]>([]);
  selectedId = $state<number | null>(null);
  compareId = $state<number | null>(null);
  histogram = $state.raw<ScoreHistogram | null>(null);
  compareHistogram = $state.raw<ScoreHistogram | null>(null);
  comparison = $state.raw<ModelComparison | null>(null);
  /** The threshold shown (dragged on the histogram; saved with `saveThreshold`). */
  threshold = $state<number | null>(null);
  histError = $state('');
  exportPath = $state('');
  exporting = $state(false);
  /** The path the save dialog returned (it asked before replacing a file there). */
  #exportChosenPath: string | null = null;

  readonly datasetId = $derived.by(() => this.#app.route.datasetId);
  readonly selected = $derived(this.models.find((m) => m.id === this.selectedId) ?? null);
  /** False-reject and miss rates of the test split at the threshold shown. */
  readonly rates = $derived(this.histogram && this.threshold !== null ? ratesAt(this.histogram.scores, this.threshold) : null);
  /** The threshold shown differs from the saved one. */
  readonly thresholdChanged = $derived(!!this.histogram && this.threshold !== null && this.threshold !== this.histogram.threshold);
  readonly roc = $derived(this.histogram ? rocCurve(this.histogram.scores) : null);
  readonly rocB = $derived(this.compareHistogram ? rocCurve(this.compareHistogram.scores) : null);
  readonly rocSeries = $derived.by((): Series[] => {
    const out: Series[] = [];
    if (this.roc && this.selected) out.push({ label: `v${this.selected.number} (AUC ${fmt(this.roc.auc, 3)})`, colour: SERIES_COLOURS[0]!, points: this.roc.points.map((p) => ({ x: p.fpr, y: p.tpr })) });
    const b = this.models.find((m) => m.id === this.compareId);
    if (this.rocB && b) out.push({ label: `v${b.number} (AUC ${fmt(this.rocB.auc, 3)})`, colour: SERIES_COLOURS[1]!, points: this.rocB.points.map((p) => ({ x: p.fpr, y: p.tpr })) });
    out.push({ label: 'chance', colour: '#b0b6c0', dashed: true, points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] });
    return out;
  });

  constructor(api: ModelsApi, app: AppState, opts: ModelsOptions = {}) {
    this.#api = api;
    this.#app = app;
    this.#confirm = opts.confirm ?? ((q) => window.confirm(q));

    // the dataset's versions (a new, activated or re-thresholded model: 'models')
    $effect(() => {
      const id = this.datasetId;
      app.version('models');
      if (id) untrack(() => this.#loadModels(id));
    });

    // the histogram of the selected version
    $effect(() => {
      const id = this.selectedId;
      untrack(() => this.#loadHistogram(id));
    });

    // the comparison with a second version
    $effect(() => {
      const a = this.selectedId;
      const b = this.compareId;
      untrack(() => this.#loadComparison(a, b));
    });
  }

  #loadModels(datasetId: number): void {
    this.#api.models.list({ datasetId }).then((list) => {
      this.models = list;
      if (!list.some((m) => m.id === this.selectedId)) this.selectedId = list[0]?.id ?? null;
    }, (e) => this.#app.fail(e));
  }

  #loadHistogram(id: number | null): void {
    this.histogram = null;
    this.histError = '';
    if (!id) return;
    this.#api.models.histogram({ modelId: id, bins: BINS }).then(
      (h) => {
        if (this.selectedId !== id) return;
        this.histogram = h;
        this.threshold = h.threshold;
      },
      (e) => (this.histError = (e as Error).message),
    );
  }

  #loadComparison(a: number | null, b: number | null): void {
    this.comparison = null;
    this.compareHistogram = null;
    if (!a || !b || a === b) return;
    this.#api.models.compare({ modelIdA: a, modelIdB: b }).then((c) => (this.comparison = c), (e) => this.#app.fail(e));
    this.#api.models.histogram({ modelId: b, bins: BINS }).then((h) => (this.compareHistogram = h), () => undefined);
  }

  select(id: number): void {
    this.selectedId = id;
  }

  /** The compare radio of a version: a second click on the same one clears it. */
  toggleCompare(id: number): void {
    this.compareId = this.compareId === id ? null : id;
  }

  /** The threshold dragged on the histogram (not saved yet). */
  setThreshold(t: number): void {
    this.threshold = t;
  }

  resetThreshold(): void {
    if (this.histogram) this.threshold = this.histogram.threshold;
  }

  async saveThreshold(): Promise<void> {
    const selected = this.selected;
    const threshold = this.threshold;
    if (!selected || threshold === null) return;
    try {
      await this.#api.models.setThreshold({ modelId: selected.id, threshold });
      this.#app.notify({ kind: 'info', message: `Threshold of version ${selected.number} set to ${fmt(threshold, 4)}.` });
      void this.#app.invalidate('models');
    } catch (e) {
      this.#app.fail(e);
    }
  }

  async activate(m: ModelVersion): Promise<void> {
    try {
      await this.#api.models.activate({ modelId: m.id });
      this.#app.notify({ kind: 'info', message: `Version ${m.number} is now used for inspection.` });
      // the dataset list shows the active version too
      await this.#app.invalidate('models', 'datasets');
    } catch (e) {
      this.#app.fail(e);
    }
  }

  /** The save dialog returned `path` (it asked before replacing a file there). */
  exportChosen(path: string): void {
    this.#exportChosenPath = path;
  }

  async exportModel(): Promise<void> {
    const selected = this.selected;
    if (!selected || !this.exportPath.trim()) return;
    const modelId = selected.id;
    const outPath = this.exportPath.trim();
    // the dialog's yes covers one write of the file it asked about
    const confirmed = confirmedBySaveDialog(this.#exportChosenPath, outPath, 'onnx');
    if (confirmed) this.#exportChosenPath = null;
    this.exporting = true;
    try {
      // an existing file is replaced only after a yes (or the save dialog's own question)
      const r = await writeAskingToOverwrite((overwrite) => this.#api.models.export({ modelId, outPath, overwrite }), this.#confirm, {
        confirmed,
        file: withExtension(outPath, 'onnx'),
        exists: async (file) => (await this.#api.app.checkPath({ path: file, expect: 'newFile' })).exists,
      });
      if (r) this.#app.notify({ kind: 'info', message: `Exported to ${r.path}` });
      else this.#app.notify({ kind: 'info', message: 'The model was not exported; the existing file was kept.' });
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.exporting = false;
    }
  }
}
