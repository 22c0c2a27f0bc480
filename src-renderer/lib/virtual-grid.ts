/**
 * Geometry of the virtualised thumbnail grid (pure): which rows are on screen for a scroll
 * position, so the grid renders, and requests thumbnails for, only those (plus a small
 * overscan), whatever the number of images.
 */

export interface GridGeometry {
  /** Width available for cells (px). */
  viewportWidth: number;
  viewportHeight: number;
  scrollTop: number;
  /** Cell size including its gap (px). */
  cellWidth: number;
  cellHeight: number;
  itemCount: number;
  /** Extra rows rendered above and below the visible ones. */
  overscanRows?: number;
}

export interface VisibleRange {
  columns: number;
  rowCount: number;
  /** Total content height (px). */
  totalHeight: number;
  firstRow: number;
  /** Exclusive. */
  lastRow: number;
  /** Item indices [start, end) to render. */
  start: number;
  end: number;
  /** Offset of the first rendered row (px). */
  offsetY: number;
}

export function visibleRange(g: GridGeometry): VisibleRange {
  const columns = Math.max(1, Math.floor(g.viewportWidth / g.cellWidth));
  const rowCount = Math.ceil(g.itemCount / columns);
  const totalHeight = rowCount * g.cellHeight;
  const overscan = g.overscanRows ?? 1;
  const maxScroll = Math.max(0, totalHeight - g.viewportHeight);
  const scrollTop = Math.min(Math.max(0, g.scrollTop), maxScroll);
  const firstRow = Math.max(0, Math.floor(scrollTop / g.cellHeight) - overscan);
  const lastRow = Math.min(rowCount, Math.ceil((scrollTop + g.viewportHeight) / g.cellHeight) + overscan);
  const start = Math.min(g.itemCount, firstRow * columns);
  const end = Math.min(g.itemCount, lastRow * columns);
  return { columns, rowCount, totalHeight, firstRow, lastRow, start, end, offsetY: firstRow * g.cellHeight };
}

/**
 * Pages of a list loaded on demand: the grid asks for the items of its visible range; pages
 * not yet loaded are fetched once (and those far away may be dropped by the caller).
 */
export function pagesFor(start: number, end: number, pageSize: number): number[] {
  if (end <= start) return [];
  const first = Math.floor(start / pageSize);
  const last = Math.floor((end - 1) / pageSize);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * A long list loaded page by page on demand (offset paging): the grid asks for the range it
 * shows; each missing page is fetched once. `version` changes when pages arrive.
 */
export class PagedList<T> {
  total = 0;
  version = 0;
  readonly #pages = new Map<number, T[]>();
  readonly #loading = new Map<number, Promise<void>>();
  readonly #fetch: (offset: number, limit: number) => Promise<{ items: T[]; total: number | null }>;
  readonly pageSize: number;
  #onUpdate: () => void;

  constructor(fetch: (offset: number, limit: number) => Promise<{ items: T[]; total: number | null }>, opts: { pageSize?: number; onUpdate?: () => void } = {}) {
    this.#fetch = fetch;
    this.pageSize = opts.pageSize ?? 200;
    this.#onUpdate = opts.onUpdate ?? (() => undefined);
  }

  /** Loads the first page and the total count. */
  async init(): Promise<void> {
    await this.#load(0);
  }

  get(index: number): T | undefined {
    return this.#pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize];
  }

  /** Pages requested so far (for tests and diagnostics). */
  get loadedPages(): number[] {
    return [...this.#pages.keys()].sort((a, b) => a - b);
  }

  async ensure(start: number, end: number): Promise<void> {
    await Promise.all(pagesFor(start, Math.min(end, this.total), this.pageSize).map((p) => this.#load(p)));
  }

  #load(page: number): Promise<void> {
    if (this.#pages.has(page)) return Promise.resolve();
    let p = this.#loading.get(page);
    if (!p) {
      p = this.#fetch(page * this.pageSize, this.pageSize).then(
        (r) => {
          this.#pages.set(page, r.items);
          if (r.total !== null) this.total = r.total;
          this.#loading.delete(page);
          this.version++;
          this.#onUpdate();
        },
        (e: unknown) => {
          this.#loading.delete(page);
          throw e;
        },
      );
      this.#loading.set(page, p);
    }
    return p;
  }
}
