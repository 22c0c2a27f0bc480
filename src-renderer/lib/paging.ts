/**
 * Paging of a long server-side list (pure): the inspection results table shows one page of
 * `inspection.results` at a time, with the verdict filter, the path search and the sort order
 * sent with every page, a "rows X–Y of N" indicator and PageUp/PageDown between pages.
 */
import type { ArgsOf, InspectionResult, Verdict } from '../../src-main/common/api';

/** Rows per page the table offers (the API returns at most 1000 per call). */
export const PAGE_SIZES = [25, 50, 100, 200, 500] as const;
export const DEFAULT_PAGE_SIZE = 100;

export interface PageWindow {
  offset: number;
  limit: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  /** The page actually shown (0-based): the one asked for, or the last one when the list shrank under it. */
  page: number;
}

/** Pages of a list of `total` rows (at least 1, so an empty list still has page 1 of 1). */
export function pageCount(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / pageSize));
}

/** A page number kept inside [0, last page]. */
export function clampPage(page: number, total: number, pageSize: number): number {
  return Math.min(Math.max(0, Math.floor(page)), pageCount(total, pageSize) - 1);
}

export function pageWindow(page: number, pageSize: number): PageWindow {
  return { offset: Math.max(0, page) * pageSize, limit: pageSize };
}

/** "rows 101–200 of 1 234" (numbers written with `fmtN`, e.g. the app's fmtInt). */
export function rowsLabel(page: number, shown: number, total: number, pageSize: number, fmtN: (n: number) => string = String): string {
  if (total <= 0 || shown <= 0) return `rows 0 of ${fmtN(Math.max(0, total))}`;
  const first = page * pageSize + 1;
  return `rows ${fmtN(first)}–${fmtN(first + shown - 1)} of ${fmtN(total)}`;
}

/**
 * The page a key moves to when the table has focus: PageDown the next, PageUp the previous
 * (null: not a paging key, or already at that end).
 */
export function pageForKey(key: string, page: number, pages: number): number | null {
  let next: number;
  if (key === 'PageDown') next = Math.min(page + 1, pages - 1);
  else if (key === 'PageUp') next = Math.max(page - 1, 0);
  else return null;
  return next === page ? null : next;
}

/**
 * Loads one page. When the list shrank under it (a filter changed, a run was re-judged) the
 * last page that exists is loaded instead, so the table never shows an empty page of a
 * non-empty list.
 */
export async function fetchPage<T>(fetch: (w: PageWindow) => Promise<{ items: T[]; total: number }>, page: number, pageSize: number): Promise<Page<T>> {
  const first = await fetch(pageWindow(page, pageSize));
  const last = clampPage(page, first.total, pageSize);
  if (last === page) return { items: first.items, total: first.total, page };
  const again = await fetch(pageWindow(last, pageSize));
  return { items: again.items, total: again.total, page: clampPage(last, again.total, pageSize) };
}

/** What the results table filters and sorts by; sent unchanged with every page. */
export interface ResultsView {
  verdict: '' | Verdict;
  search: string;
  orderBy: 'score' | 'path' | 'id';
  descending: boolean;
}

export const DEFAULT_RESULTS_VIEW: ResultsView = { verdict: '', search: '', orderBy: 'score', descending: true };

/** Arguments of `inspection.results` for one page of a run's results seen through `view`. */
export function resultsArgs(runId: number, view: ResultsView, w: PageWindow): ArgsOf<'inspection.results'> {
  const search = view.search.trim().slice(0, 200);
  return {
    runId,
    orderBy: view.orderBy,
    descending: view.descending,
    ...(view.verdict ? { verdict: view.verdict } : {}),
    ...(search ? { search } : {}),
    offset: w.offset,
    limit: w.limit,
  };
}

/** Clicking a column header: the same column flips the direction; another starts highest-first for scores. */
export function sortedBy(view: ResultsView, key: 'score' | 'path'): ResultsView {
  if (view.orderBy === key) return { ...view, descending: !view.descending };
  return { ...view, orderBy: key, descending: key === 'score' };
}

export type ResultsPage = Page<InspectionResult>;
