/**
 * The review queue's state: one key per decision on the result under the cursor or on the
 * selection (Shift/Ctrl+click), the cursor moving on to the next undecided result, Ctrl+Z, and
 * a single defect opening in the annotator with its heat map handed over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf, ReviewDecision, ReviewItem, ReviewQueue } from '../../src-main/common/api';
import type * as ReviewModule from '../../src-renderer/lib/views/review-state.svelte';
import type * as HandoffModule from '../../src-renderer/lib/review-handoff';
import { APP_INFO, fakeApi, inspectionResult, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let Review: typeof ReviewModule;
let Handoff: typeof HandoffModule;

beforeAll(async () => {
  runes = await loadRunes();
  Review = await runes.loader.import<typeof ReviewModule>('src-renderer/lib/views/review-state.svelte.ts');
  Handoff = await runes.loader.import<typeof HandoffModule>('src-renderer/lib/review-handoff.ts');
});
afterAll(() => runes.loader.close());

/** A fake review service over 5 results of run 7 (ids 1..5), decisions kept in memory with a batch stack. */
function setup() {
  const decisions = new Map<number, ReviewDecision>();
  const batches: number[][] = [];
  const items = (): ReviewItem[] =>
    [1, 2, 3, 4, 5].map((id) => ({ ...inspectionResult(id, 7, id < 3 ? 'fail' : 'pass', 1 - id / 10), group: id < 3 ? 'band' : 'rest', decision: decisions.get(id) ?? null, imageId: decisions.has(id) ? 100 + id : null, decidedAtMs: null }));
  const progress = () => ({ runId: 7, total: 5, reviewed: decisions.size, good: 0, defect: 0, skip: 0, undoable: decisions.size });
  const fake = fakeApi({
    review: {
      queue: (): ReviewQueue => ({ runId: 7, datasetId: 1, modelVersionId: 3, threshold: 0.8, band: { low: 0.7, high: 0.9 }, defaultBand: true, items: items(), total: 5, progress: progress() }),
      decide: (a: ArgsOf<'review.decide'>) => {
        for (const id of a.resultIds) decisions.set(id, a.decision);
        batches.push(a.resultIds);
        return { batch: batches.length, decided: a.resultIds.map((id) => ({ resultId: id, decision: a.decision, imageId: a.decision === 'skip' ? null : 100 + id, added: true })), progress: progress() };
      },
      undo: () => {
        const last = batches.pop() ?? [];
        const undone = last.map((id) => ({ resultId: id, decision: decisions.get(id)!, removedImageId: null }));
        for (const id of last) decisions.delete(id);
        return { batch: last.length ? batches.length + 1 : null, undone, progress: progress() };
      },
    },
  });
  const app = new runes.app.AppState(fake.api);
  app.info = APP_INFO;
  app.route = { view: 'inspect', datasetId: 1, imageId: null };
  const view = runes.root.mount(() => new Review.ReviewState(fake.api, app, { runId: () => 7 }));
  return { fake, app, s: view.value, destroy: view.destroy, decisions };
}

describe('the review queue', () => {
  it('G, S and D decide the result under the cursor; the cursor moves to the next undecided one; Ctrl+Z takes the last back', async () => {
    const { fake, s, destroy, decisions } = setup();
    await runes.root.settle();
    expect(s.progressText).toBe('0 of 5 reviewed');
    expect(s.current?.id).toBe(1);
    expect(s.key({ key: 'g' })).toBe(true);
    await runes.root.settle();
    expect(fake.argsOf('review.decide').at(-1)).toEqual({ runId: 7, resultIds: [1], decision: 'good' });
    expect(s.current?.id).toBe(2);
    expect(s.progressText).toBe('1 of 5 reviewed');
    s.key({ key: 'S' });
    await runes.root.settle();
    expect(decisions.get(2)).toBe('skip');
    expect(s.current?.id).toBe(3);
    expect(s.key({ key: 'z', ctrlKey: true })).toBe(true);
    await runes.root.settle();
    expect(decisions.has(2)).toBe(false);
    expect(s.current?.id).toBe(2); // back on the result taken back
    // keys the queue does not own are left alone (Alt+digit switches views)
    expect(s.key({ key: '5', altKey: true })).toBe(false);
    expect(s.key({ key: 'x' })).toBe(false);
    destroy();
  });

  it('decides a Shift+click range or a Ctrl+click selection at once', async () => {
    const { fake, s, destroy } = setup();
    await runes.root.settle();
    s.click(1);
    s.click(3, { shiftKey: true });
    expect([...s.selected]).toEqual([2, 3, 4]);
    s.click(2, { ctrlKey: true });
    expect([...s.selected].sort()).toEqual([2, 4]);
    s.key({ key: 'g' });
    await runes.root.settle();
    expect(fake.argsOf<ArgsOf<'review.decide'>>('review.decide').at(-1)!.resultIds.sort()).toEqual([2, 4]);
    expect(s.selected.size).toBe(0);
    // arrows move; Shift+arrow extends the selection
    s.click(0);
    s.key({ key: 'ArrowDown', shiftKey: true });
    expect([...s.selected]).toEqual([1, 2]);
    s.key({ key: 'Escape' });
    expect(s.selected.size).toBe(0);
    destroy();
  });

  it('opens a single defect in the annotator with its heat map shown', async () => {
    const { s, app, destroy } = setup();
    await runes.root.settle();
    s.click(2);
    s.key({ key: 'd' });
    await runes.root.settle();
    expect(app.route).toMatchObject({ view: 'annotate', imageId: 103 });
    expect(Handoff.takeHeatmapHandoff(999)).toBe(false);
    expect(Handoff.takeHeatmapHandoff(103)).toBe(true);
    expect(Handoff.takeHeatmapHandoff(103)).toBe(false); // taken once
    destroy();
  });

  it('starts the retrain of the run\'s model', async () => {
    const { fake, s, destroy } = setup();
    (fake.api.review as unknown as Record<string, unknown>).retrain = async (a: unknown) => {
      fake.calls.push({ name: 'review.retrain', args: a });
      return { jobId: 'job-1', runId: 9, replaces: 3 };
    };
    await runes.root.settle();
    await s.retrain();
    expect(fake.argsOf('review.retrain')).toEqual([{ modelId: 3 }]);
    expect(s.retrainJob).toMatchObject({ jobId: 'job-1', kind: 'training', status: 'running' });
    destroy();
  });
});
