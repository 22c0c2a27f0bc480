/** The Inspect view's state: the results table pages through a run with its filter, search and sort. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf, InspectionResult, Verdict } from '../../src-main/common/api';
import type * as InspectModule from '../../src-renderer/lib/views/inspect-state.svelte';
import { APP_INFO, fakeApi, inspectionResult, inspectionRun, loadRunes, model, type Runes } from './state-fixtures';

let runes: Runes;
let Inspect: typeof InspectModule;

beforeAll(async () => {
  runes = await loadRunes();
  Inspect = await runes.loader.import<typeof InspectModule>('src-renderer/lib/views/inspect-state.svelte.ts');
});
afterAll(() => runes.loader.close());

/** 130 results of run 7: every 3rd fails, every 10th could not be read; names a001… / b002… alternate. */
const RESULTS: InspectionResult[] = Array.from({ length: 130 }, (_, i) => {
  const id = i + 1;
  const verdict: Verdict = id % 10 === 0 ? 'error' : id % 3 === 0 ? 'fail' : 'pass';
  return inspectionResult(id, 7, verdict, verdict === 'error' ? null : (id * 37) % 100 / 100, `/parts/line-1/${id % 2 ? 'a' : 'b'}${String(id).padStart(3, '0')}.png`);
});
const count = (v: Verdict) => RESULTS.filter((r) => r.verdict === v).length;

/** inspection.results as the service answers it: filter, search, sort, then the window. */
function results(a: ArgsOf<'inspection.results'>) {
  let list = RESULTS.filter((r) => (!a.verdict || r.verdict === a.verdict) && (!a.search || r.path.includes(a.search)));
  const key = a.orderBy ?? 'id';
  list = list.slice().sort((x, y) => {
    const d = key === 'path' ? x.path.localeCompare(y.path) : key === 'score' ? (x.score ?? -1) - (y.score ?? -1) : x.id - y.id;
    return a.descending ? -d : d;
  });
  return { items: list.slice(a.offset ?? 0, (a.offset ?? 0) + (a.limit ?? 100)), total: list.length };
}

function setup() {
  const fake = fakeApi({
    models: { list: () => [model(1, { isActive: true }), model(2, { status: 'draft', bundleFile: null })] },
    inspection: {
      listRuns: () => [inspectionRun(7)],
      getRun: () => ({ ...inspectionRun(7), summary: { total: RESULTS.length, pass: count('pass'), fail: count('fail'), error: count('error'), minScore: 0, maxScore: 1, meanScore: 0.5 } }),
      results,
    },
  });
  const app = new runes.app.AppState(fake.api);
  app.info = APP_INFO;
  app.route = { view: 'inspect', datasetId: 1, imageId: null };
  let scrolled = 0;
  const view = runes.root.mount(() => new Inspect.InspectState(fake.api, app, { searchDelayMs: 1, scrollToTop: () => scrolled++ }));
  return { fake, app, s: view.value, destroy: view.destroy, scrolled: () => scrolled, lastPage: () => fake.argsOf<ArgsOf<'inspection.results'>>('inspection.results').at(-1)! };
}

describe('Inspect: the results table', () => {
  it('shows the newest run, its verdict counts and the first page, sorted by score', async () => {
    const { s, destroy } = setup();
    await runes.root.settle();
    expect(s.models.map((m) => m.id)).toEqual([1]); // only ready models with a bundle
    expect(s.modelId).toBe(1);
    expect(s.runId).toBe(7);
    expect(s.run?.summary).toMatchObject({ total: 130, pass: count('pass'), fail: count('fail'), error: count('error') });
    expect(count('pass') + count('fail') + count('error')).toBe(130);
    expect(s.results).toHaveLength(100);
    expect(s.rowsText).toBe('rows 1–100 of 130');
    expect(s.pages).toBe(2);
    const scores = s.results.map((r) => r.score ?? -1);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(s.reportPath).toBe('/data/line-1-inspection-7-report');
    destroy();
  });

  it('pages through the results keeping the verdict filter, the search and the sort order', async () => {
    const { s, destroy, lastPage } = setup();
    await runes.root.settle();
    s.setPageSize(25);
    s.setVerdict('pass');
    s.sortBy('path');
    s.searchText = 'line-1/a';
    await runes.root.settle();
    const matching = RESULTS.filter((r) => r.verdict === 'pass' && r.path.includes('line-1/a'));
    expect(s.total).toBe(matching.length);
    expect(s.rowsText).toBe(`rows 1–25 of ${matching.length}`);

    s.goPage(1);
    await runes.root.settle();
    expect(lastPage()).toMatchObject({ runId: 7, verdict: 'pass', search: 'line-1/a', orderBy: 'path', descending: false, offset: 25, limit: 25 });
    expect(s.rowsText).toBe(`rows 26–${Math.min(50, matching.length)} of ${matching.length}`);
    expect(s.results.every((r) => r.verdict === 'pass' && r.path.includes('line-1/a'))).toBe(true);
    const paths = s.results.map((r) => r.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths[0]! > matching.map((r) => r.path).sort()[24]!).toBe(true);

    // PageUp and PageDown in the table: the page before and after, same filter (none after the last)
    expect(matching.length).toBeLessThanOrEqual(50);
    const asked = s.results.length;
    expect(s.pageByKey('PageDown')).toBe(true);
    await runes.root.settle();
    expect(s.page).toBe(1);
    expect(s.results).toHaveLength(asked);
    expect(s.pageByKey('PageUp')).toBe(true);
    await runes.root.settle();
    expect(lastPage()).toMatchObject({ verdict: 'pass', search: 'line-1/a', orderBy: 'path', descending: false, offset: 0 });
    expect(s.page).toBe(0);
    expect(s.pageByKey('x')).toBe(false);
    destroy();
  });

  it('goes back to page 1 when the filter, the search, the sort or the page size changes', async () => {
    const { s, destroy, lastPage, scrolled } = setup();
    await runes.root.settle();
    s.setPageSize(25);
    await runes.root.settle();
    const back = async (change: () => void) => {
      s.goPage(2);
      await runes.root.settle();
      expect(s.page).toBe(2);
      const before = scrolled();
      change();
      await runes.root.settle();
      expect(s.page).toBe(0);
      expect(lastPage().offset).toBe(0);
      return scrolled() > before;
    };
    expect(await back(() => s.setVerdict(''))).toBe(true);
    expect(await back(() => s.sortBy('score'))).toBe(true);
    expect(await back(() => (s.searchText = '0'))).toBe(true);
    expect(await back(() => s.setPageSize(50))).toBe(false);
    expect(lastPage()).toMatchObject({ limit: 50, search: '0', orderBy: 'score', descending: false });
    destroy();
  });

  it('says when the filter leaves no results, and shows the last page when the list shrank under it', async () => {
    const { s, destroy } = setup();
    await runes.root.settle();
    s.setPageSize(25);
    s.goPage(4);
    await runes.root.settle();
    expect(s.rowsText).toBe('rows 101–125 of 130');
    s.searchText = 'no such file';
    await runes.root.settle();
    expect(s.filtered).toBe(true);
    expect(s.results).toEqual([]);
    expect(s.rowsText).toBe('rows 0 of 0');
    expect(s.page).toBe(0);
    destroy();
  });

  it('loads runs and results again when inspections change, and the models only when models change', async () => {
    const { s, app, fake, destroy } = setup();
    await runes.root.settle();
    fake.forget();
    await app.invalidate('inspections');
    await runes.root.settle();
    expect(fake.count('inspection.listRuns')).toBe(1);
    expect(fake.count('inspection.results')).toBe(1);
    expect(fake.count('models.list')).toBe(0);

    fake.forget();
    await app.invalidate('models');
    await runes.root.settle();
    expect(fake.count('models.list')).toBe(1);
    expect(fake.count('inspection.listRuns') + fake.count('inspection.results') + fake.count('inspection.getRun')).toBe(0);

    fake.forget();
    await app.invalidate('images', 'training');
    await runes.root.settle();
    expect(fake.calls).toEqual([]);
    expect(s.runId).toBe(7);
    destroy();
  });
});
