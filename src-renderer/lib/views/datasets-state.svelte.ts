/**
 * The Datasets view's state and logic (no DOM): creating a dataset, importing a folder as a
 * job, the images of the chosen dataset as a list loaded page by page on demand through the
 * filters (label, split, annotation, defect type, path search), the selection (click,
 * Ctrl+click, Shift+click) with bulk labelling and splitting, and the details of one image.
 */
import { untrack } from 'svelte';
import type { DefectType, ImageLabel, ImageRecord, ImageSplit, ImportSummary, PathCheck } from '../../../src-main/common/api';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { fmtInt } from '../format';
import { PagedList } from '../virtual-grid';

/** The part of the API client the view uses. */
export type DatasetsApi = Pick<ApiClient, 'datasets' | 'images' | 'defectTypes' | 'jobs'>;

/** The modifier keys of a click in the grid (`ctrl`: Ctrl or Cmd). */
export interface ClickKeys {
  ctrl: boolean;
  shift: boolean;
}

/** Rows asked at once by the thumbnail grid. */
const PAGE_SIZE = 200;

export class DatasetsState {
  readonly #api: DatasetsApi;
  readonly #app: AppState;

  newName = $state('');
  folder = $state('');
  folderCheck = $state<PathCheck | null>(null);
  importJobId = $state<string | null>(null);
  filterLabel = $state<'' | ImageLabel>('');
  filterSplit = $state<'' | ImageSplit | 'none'>('');
  filterAnnotated = $state<'' | 'yes' | 'no'>('');
  filterType = $state<number | ''>('');
  search = $state('');
  defectTypes = $state.raw<DefectType[]>([]);
  selected = $state.raw(new Set<number>());
  /** Where a Shift+click range starts (the last plain or Ctrl+click). */
  anchor = $state<number | null>(null);
  detail = $state.raw<ImageRecord | null>(null);
  bulkType = $state<number | ''>('');
  /** Bumped by the image list when pages arrive (the grid redraws the cells). */
  listVersion = $state(0);

  readonly datasetId = $derived.by(() => this.#app.route.datasetId);
  readonly importJob = $derived.by(() => (this.importJobId ? this.#app.jobs[this.importJobId] ?? null : this.#app.latestJob('import')));
  readonly importSummary = $derived(this.importJob?.status === 'completed' ? (this.importJob.result as ImportSummary) : null);
  readonly canImport = $derived(!!this.folder.trim() && this.importJob?.status !== 'running' && (this.folderCheck === null || this.folderCheck.isDirectory));

  /** The dataset's images through the filters, loaded page by page as the grid shows them. */
  readonly list = $derived.by(() => {
    const id = this.datasetId;
    this.#app.version('images');
    if (!id) return null;
    const q = {
      datasetId: id,
      label: this.filterLabel || undefined,
      split: this.filterSplit || undefined,
      annotated: this.filterAnnotated === '' ? undefined : this.filterAnnotated === 'yes',
      defectTypeId: this.filterType === '' ? undefined : this.filterType,
      search: this.search.trim() || undefined,
    };
    const l = new PagedList<ImageRecord>((offset, limit) => this.#api.images.list({ ...q, offset, limit }), { pageSize: PAGE_SIZE, onUpdate: () => this.listVersion++ });
    l.init().catch((e) => this.#app.fail(e));
    return l;
  });

  /** Images through the filters (once the first page arrived). */
  readonly imageCount = $derived.by(() => {
    void this.listVersion; // pages arrived: the total is known
    return this.list?.total ?? 0;
  });

  /** "79 images · 3 selected" */
  readonly countText = $derived(`${fmtInt(this.imageCount)} images${this.selected.size ? ` · ${fmtInt(this.selected.size)} selected` : ''}`);

  constructor(api: DatasetsApi, app: AppState) {
    this.#api = api;
    this.#app = app;

    // the dataset's defect types (filters and labelling)
    $effect(() => {
      const id = this.datasetId;
      app.version('images');
      if (id) untrack(() => this.#api.defectTypes.list({ datasetId: id }).then((t) => (this.defectTypes = t), (e) => app.fail(e)));
    });

    // another dataset: nothing selected
    $effect(() => {
      void this.datasetId;
      untrack(() => this.clearSelection());
    });
  }

  /** Creates a dataset named `newName` and shows it; false when it could not be created. */
  async create(): Promise<boolean> {
    if (!this.newName.trim()) return false;
    try {
      const ds = await this.#api.datasets.create({ name: this.newName });
      this.newName = '';
      await this.#app.refreshDatasets();
      await this.#app.go({ datasetId: ds.id, imageId: null });
      return true;
    } catch (err) {
      this.#app.fail(err);
      return false;
    }
  }

  async startImport(): Promise<void> {
    const datasetId = this.datasetId;
    if (!datasetId || !this.folder.trim()) return;
    try {
      const { jobId } = await this.#api.datasets.importFolder({ datasetId, folder: this.folder.trim() });
      this.#app.started('import', jobId);
      this.importJobId = jobId;
    } catch (e) {
      this.#app.fail(e);
    }
  }

  async cancelJob(jobId: string): Promise<void> {
    try {
      await this.#api.jobs.cancel({ jobId });
    } catch (e) {
      this.#app.fail(e);
    }
  }

  // ---- selection ------------------------------------------------------------------------------

  /** A click on the image at `index`: alone, Ctrl toggles it in the selection, Shift selects the range from the anchor. */
  select(index: number, item: ImageRecord, keys: ClickKeys): void {
    const list = this.list;
    const next = new Set(keys.ctrl || keys.shift ? this.selected : []);
    if (keys.shift && this.anchor !== null && list) {
      const [a, b] = this.anchor < index ? [this.anchor, index] : [index, this.anchor];
      for (let i = a; i <= b; i++) {
        const it = list.get(i);
        if (it) next.add(it.id);
      }
    } else if (keys.ctrl && next.has(item.id)) next.delete(item.id);
    else next.add(item.id);
    if (!keys.shift) this.anchor = index;
    this.selected = next;
    this.detail = next.size === 1 ? item : null;
  }

  /** Selects every image loaded so far. */
  selectLoaded(): void {
    const list = this.list;
    if (!list) return;
    const next = new Set<number>();
    for (let i = 0; i < list.total; i++) {
      const it = list.get(i);
      if (it) next.add(it.id);
    }
    this.selected = next;
  }

  clearSelection(): void {
    this.selected = new Set();
    this.detail = null;
  }

  // ---- bulk changes ---------------------------------------------------------------------------

  async label(l: ImageLabel): Promise<void> {
    if (!this.selected.size) return;
    try {
      const r = await this.#api.images.setLabel({ imageIds: [...this.selected], label: l, defectTypeId: l === 'defect' && this.bulkType !== '' ? this.bulkType : undefined });
      this.#app.notify({ kind: 'info', message: `${fmtInt(r.changed)} images labelled ${l}.` });
      await this.#app.invalidate('images', 'datasets');
    } catch (e) {
      this.#app.fail(e);
    }
  }

  async split(s: ImageSplit | null): Promise<void> {
    if (!this.selected.size) return;
    try {
      const r = await this.#api.images.setSplit({ imageIds: [...this.selected], split: s });
      this.#app.notify({ kind: 'info', message: `${fmtInt(r.changed)} images moved to ${s ?? 'no split'}.` });
      await this.#app.invalidate('images', 'datasets');
    } catch (e) {
      this.#app.fail(e);
    }
  }
}
