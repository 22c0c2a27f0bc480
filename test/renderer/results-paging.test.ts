/** The inspection results table pages through all of a run's results, keeping filter and sort. */
import { describe, expect, it } from 'vitest';
import type { ArgsOf, InspectionResult, Verdict } from '../../src-main/common/api';
import { fmtInt } from '../../src-renderer/lib/format';
import {
  clampPage,
  DEFAULT_RESULTS_VIEW,
  fetchPage,
  pageCount,
  pageForKey,
  PAGE_SIZES,
  resultsArgs,
  rowsLabel,
  sortedBy,
  type ResultsView,
} from '../../src-renderer/lib/paging';

const N = 1234;

/** A fake `inspection.results` over N results, filtering and sorting like the service does. */
function fakeResults(n = N) {
  let rows: InspectionResult[] = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    runId: 1,
    path: `/line/${String(i).padStart(4, '0')}.png`,
    sha256: i.toString(16).padStart(64, '0'),
    score: ((i * 7919) % 1000) / 1000,
    verdict: (i % 5 === 0 ? 'fail' : 'pass') as Verdict,
    error: null,
    createdAtMs: 0,
    heatmapPath: null,
  }));
  const calls: ArgsOf<'inspection.results'>[] = [];
  const results = async (a: ArgsOf<'inspection.results'>) => {
    calls.push(a);
    let list = rows.filter((r) => (!a.verdict || r.verdict === a.verdict) && (!a.search || r.path.includes(a.search)));
    const key = a.orderBy ?? 'id';
    const dir = (a.descending ?? key === 'score') ? -1 : 1;
    list = [...list].sort((x, y) => {
      const c = key === 'path' ? x.path.localeCompare(y.path) : key === 'score' ? x.score! - y.score! : x.id - y.id;
      return c !== 0 ? c * dir : (x.id - y.id) * dir;
    });
    const offset = a.offset ?? 0;
    return { items: list.slice(offset, offset + (a.limit ?? 100)), total: list.length };
  };
  return { results, calls, shrink: (k: number) => (rows = rows.slice(0, k)) };
}

describe('results paging', () => {
  it('reaches every result of a run, past the first 200, one page at a time', async () => {
    const { results, calls } = fakeResults();
    const view: ResultsView = { ...DEFAULT_RESULTS_VIEW };
    const seen = new Set<number>();
    let page = 0;
    let pages = 1;
    let lastScore = Infinity;
    do {
      const p = await fetchPage((w) => results(resultsArgs(7, view, w)), page, 100);
      expect(p.page).toBe(page);
      expect(p.total).toBe(N);
      pages = pageCount(p.total, 100);
      for (const r of p.items) {
        expect(seen.has(r.id)).toBe(false);
        seen.add(r.id);
        // sorted by score, highest first, across page boundaries
        expect(r.score!).toBeLessThanOrEqual(lastScore);
        lastScore = r.score!;
      }
      const next = pageForKey('PageDown', page, pages);
      if (next === null) break;
      page = next;
    } while (true);
    expect(seen.size).toBe(N);
    expect(pages).toBe(13);
    expect(page).toBe(12);
    expect(calls.map((c) => c.offset)).toEqual(Array.from({ length: 13 }, (_, i) => i * 100));
    expect(calls.every((c) => c.runId === 7 && c.limit === 100 && c.orderBy === 'score' && c.descending === true)).toBe(true);
  });

  it('sends the verdict filter, the search and the sort order with every page', async () => {
    const { results, calls } = fakeResults();
    const view: ResultsView = sortedBy(sortedBy({ ...DEFAULT_RESULTS_VIEW, verdict: 'fail', search: ' /line/0 ' }, 'path'), 'path');
    expect(view).toMatchObject({ orderBy: 'path', descending: true });
    const p1 = await fetchPage((w) => results(resultsArgs(3, view, w)), 0, 25);
    const p2 = await fetchPage((w) => results(resultsArgs(3, view, w)), 1, 25);
    expect(calls).toEqual([
      { runId: 3, orderBy: 'path', descending: true, verdict: 'fail', search: '/line/0', offset: 0, limit: 25 },
      { runId: 3, orderBy: 'path', descending: true, verdict: 'fail', search: '/line/0', offset: 25, limit: 25 },
    ]);
    // /line/0000 ... /line/0999, every fifth fails: 200 rows
    expect(p1.total).toBe(200);
    expect([...p1.items, ...p2.items].every((r) => r.verdict === 'fail')).toBe(true);
    expect(p1.items.at(-1)!.path > p2.items[0]!.path).toBe(true);
    // no filter: no verdict and no search sent
    expect(resultsArgs(3, DEFAULT_RESULTS_VIEW, { offset: 0, limit: 100 })).toEqual({ runId: 3, orderBy: 'score', descending: true, offset: 0, limit: 100 });
  });

  it('falls back to the last page when the list shrank under the one shown', async () => {
    const f = fakeResults();
    f.shrink(130);
    const p = await fetchPage((w) => f.results(resultsArgs(1, DEFAULT_RESULTS_VIEW, w)), 9, 100);
    expect(p.page).toBe(1);
    expect(p.items.length).toBe(30);
    f.shrink(0);
    const empty = await fetchPage((w) => f.results(resultsArgs(1, DEFAULT_RESULTS_VIEW, w)), 1, 100);
    expect(empty).toEqual({ items: [], total: 0, page: 0 });
    expect(clampPage(-3, 10, 5)).toBe(0);
    expect(clampPage(7, 10, 5)).toBe(1);
  });

  it('shows which rows are on screen and moves pages with PageUp and PageDown only', () => {
    expect(rowsLabel(0, 100, 12_345, 100, fmtInt)).toBe('rows 1–100 of 12\u2009345');
    expect(rowsLabel(12, 34, N, 100)).toBe('rows 1201–1234 of 1234');
    expect(rowsLabel(0, 0, 0, 100)).toBe('rows 0 of 0');
    expect(pageForKey('PageDown', 0, 13)).toBe(1);
    expect(pageForKey('PageUp', 5, 13)).toBe(4);
    expect(pageForKey('PageUp', 0, 13)).toBeNull();
    expect(pageForKey('PageDown', 12, 13)).toBeNull();
    expect(pageForKey('ArrowDown', 0, 13)).toBeNull();
    expect(pageCount(0, 100)).toBe(1);
    expect(Math.max(...PAGE_SIZES)).toBeLessThanOrEqual(1000); // the API's limit per call
  });
});
