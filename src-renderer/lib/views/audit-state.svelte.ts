/**
 * The Audit view's state and logic (no DOM): the append-only audit log (`audit.list`) as a
 * paged table, newest first, with filters sent with every page (time range, kinds, a text
 * search sent a moment after typing stops, a dataset), and the events matching the filters
 * written as CSV (`audit.exportCsv`) to a typed path or one chosen in the desktop app's save
 * dialog, asking before a file is replaced.
 */
import { untrack } from 'svelte';
import type { ArgsOf, AuditRecord } from '../../../src-main/common/api';
import type { ApiClient } from '../api-client';
import type { AppState } from '../app-state.svelte';
import { confirmedBySaveDialog, withExtension, writeAskingToOverwrite } from '../overwrite';
import { DEFAULT_PAGE_SIZE, fetchPage, pageCount, pageForKey, rowsLabel } from '../paging';
import { fromLocalInput } from './station-state.svelte';

/** The part of the API client the view uses. */
export type AuditApi = Pick<ApiClient, 'audit' | 'app'>;

export interface AuditViewOptions {
  /** Asks before a file is replaced (default: window.confirm). */
  confirm?: (question: string) => boolean;
  /** How long after the last keystroke the search is sent (ms, default 250). */
  searchDelayMs?: number;
}

/** What the table is filtered by; sent unchanged with every page and with the export. */
export interface AuditFilters {
  /** `<input type="datetime-local">` values; empty: no bound. */
  from: string;
  to: string;
  kinds: string[];
  search: string;
  datasetId: number | null;
}

export const NO_FILTERS: AuditFilters = { from: '', to: '', kinds: [], search: '', datasetId: null };

/** Names of the kinds the log records, in words (others show as they are). */
export const KIND_LABELS: Readonly<Record<string, string>> = {
  'image.label': 'Label',
  'mask.mask_create': 'Mask painted',
  'mask.mask_update': 'Mask changed',
  'mask.mask_delete': 'Mask removed',
  'model_version.threshold': 'Threshold',
  'model_version.review_band': 'Review band',
  'model_version.activate': 'Model activated',
  'model_version.deactivate': 'Model deactivated',
  'dataset.delete': 'Dataset deleted',
};

export const kindLabel = (kind: string): string => KIND_LABELS[kind] ?? kind;

/** The filters as the API takes them (`to` reaches the end of the minute typed). */
export function auditFilterArgs(f: AuditFilters): Omit<ArgsOf<'audit.list'>, 'offset' | 'limit'> {
  const fromMs = fromLocalInput(f.from);
  const toMs = fromLocalInput(f.to);
  const search = f.search.trim();
  return {
    ...(fromMs !== null ? { fromMs } : {}),
    ...(toMs !== null ? { toMs: toMs + 59_999 } : {}),
    ...(f.kinds.length ? { kinds: [...f.kinds] } : {}),
    ...(search ? { search } : {}),
    ...(f.datasetId !== null ? { datasetId: f.datasetId } : {}),
  };
}

export class AuditState {
  readonly #api: AuditApi;
  readonly #app: AppState;
  readonly #opts: Required<AuditViewOptions>;

  filters = $state.raw<AuditFilters>(NO_FILTERS);
  /** The search box as typed (sent to `filters.search` after a pause). */
  searchText = $state('');
  kinds = $state.raw<string[]>([]);
  rows = $state.raw<AuditRecord[]>([]);
  total = $state(0);
  page = $state(0);
  pageSize = $state(DEFAULT_PAGE_SIZE);
  loaded = $state(false);
  busy = $state(false);
  exportPath = $state('');
  #exportChosenPath: string | null = null;
  #autoExportPath = '';
  #seq = 0;

  readonly pages = $derived(pageCount(this.total, this.pageSize));
  readonly rowsText = $derived(rowsLabel(this.page, this.rows.length, this.total, this.pageSize));
  readonly filtered = $derived(JSON.stringify(auditFilterArgs(this.filters)) !== '{}');
  readonly canExport = $derived(!!this.exportPath.trim() && !this.busy);

  constructor(api: AuditApi, app: AppState, opts: AuditViewOptions = {}) {
    this.#api = api;
    this.#app = app;
    this.#opts = { confirm: (q) => window.confirm(q), searchDelayMs: 250, ...opts };

    // the page: again when a filter, the page or anything audited changes
    $effect(() => {
      void this.filters;
      void this.page;
      void this.pageSize;
      app.version('images');
      app.version('models');
      app.version('datasets');
      untrack(() => void this.load());
    });

    // the text search is sent a moment after typing stops
    $effect(() => {
      const text = this.searchText;
      if (text === untrack(() => this.filters.search)) return;
      const t = setTimeout(() => this.setFilters({ search: text }), this.#opts.searchDelayMs);
      return () => clearTimeout(t);
    });

    // a file name in the data folder, until one is typed or chosen
    $effect(() => {
      const dataDir = app.info?.dataDir;
      untrack(() => {
        if (dataDir && (!this.exportPath || this.exportPath === this.#autoExportPath)) this.exportPath = this.#autoExportPath = `${dataDir}/audit-log.csv`;
      });
    });
  }

  /** Loads the kinds present and the page shown (a page past the end loads the last one). */
  async load(): Promise<void> {
    const seq = ++this.#seq;
    const args = auditFilterArgs(this.filters);
    try {
      const [kinds, page] = await Promise.all([
        this.#api.audit.kinds(),
        fetchPage(async (w) => {
          const r = await this.#api.audit.list({ ...args, ...w });
          return { items: r.rows, total: r.total };
        }, this.page, this.pageSize),
      ]);
      if (seq !== this.#seq) return;
      this.kinds = kinds;
      this.rows = page.items;
      this.total = page.total;
      if (page.page !== this.page) this.page = page.page;
      this.loaded = true;
    } catch (e) {
      if (seq === this.#seq) this.#app.fail(e);
    }
  }

  /** Changes filters (back to the first page). */
  setFilters(change: Partial<AuditFilters>): void {
    this.filters = { ...this.filters, ...change };
    if ('search' in change && change.search !== this.searchText) this.searchText = change.search ?? '';
    this.page = 0;
  }

  /** Shows or hides one kind (none chosen: every kind). */
  toggleKind(kind: string, on: boolean): void {
    const kinds = this.filters.kinds.filter((k) => k !== kind);
    this.setFilters({ kinds: on ? [...kinds, kind] : kinds });
  }

  clearFilters(): void {
    this.searchText = '';
    this.setFilters({ ...NO_FILTERS });
  }

  goto(page: number): void {
    this.page = Math.min(Math.max(0, page), this.pages - 1);
  }

  setPageSize(size: number): void {
    this.pageSize = size;
    this.page = 0;
  }

  /** PageUp/PageDown while the table has focus; true when the key was used. */
  key(key: string): boolean {
    const next = pageForKey(key, this.page, this.pages);
    if (next === null) return false;
    this.page = next;
    return true;
  }

  /** The path the save dialog returned (it asked before replacing a file). */
  exportChosen(path: string): void {
    this.#exportChosenPath = path;
  }

  /** Writes the events matching the filters as CSV. */
  async exportCsv(): Promise<void> {
    const outPath = this.exportPath.trim();
    if (!outPath) return;
    const confirmed = confirmedBySaveDialog(this.#exportChosenPath, outPath, 'csv');
    if (confirmed) this.#exportChosenPath = null;
    const filters = auditFilterArgs(this.filters);
    this.busy = true;
    try {
      const r = await writeAskingToOverwrite((overwrite) => this.#api.audit.exportCsv({ ...filters, outPath, overwrite }), this.#opts.confirm, {
        confirmed,
        file: withExtension(outPath, 'csv'),
        exists: async (file) => (await this.#api.app.checkPath({ path: file, expect: 'newFile' })).exists,
      });
      if (r) this.#app.notify({ kind: 'info', message: `Audit log written: ${r.path} (${r.rows} ${r.rows === 1 ? 'event' : 'events'})` });
      else this.#app.notify({ kind: 'info', message: 'The audit log was not saved; the existing file was kept.' });
    } catch (e) {
      this.#app.fail(e);
    } finally {
      this.busy = false;
    }
  }
}
