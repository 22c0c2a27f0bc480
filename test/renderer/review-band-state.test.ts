/** The review band controls of the Models view, and the Station view's chart of reviews (issue 20). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReviewBand, ScoreHistogram } from '../../src-main/common/api';
import type * as BandModule from '../../src-renderer/lib/views/review-band-state.svelte';
import type * as StationModule from '../../src-renderer/lib/views/station-state.svelte';
import { fakeApi, loadRunes, model, type Runes } from './state-fixtures';

let runes: Runes;
let Band: typeof BandModule;
let Station: typeof StationModule;

beforeAll(async () => {
  runes = await loadRunes();
  [Band, Station] = await Promise.all([
    runes.loader.import<typeof BandModule>('src-renderer/lib/views/review-band-state.svelte.ts'),
    runes.loader.import<typeof StationModule>('src-renderer/lib/views/station-state.svelte.ts'),
  ]);
});
afterAll(() => runes.loader.close());

const histogram = (reviewBand: ReviewBand | null): ScoreHistogram => ({
  modelId: 2, binEdges: [0, 0.5, 1], normal: [4, 0], defect: [1, 3], boundary: 0.42, threshold: 0.45,
  scores: { normal: [0.1, 0.2, 0.3, 0.44], defect: [0.35, 0.5, 0.6, 0.9] },
  reviewBand,
  reviewBandProposal: { low: 0.4123456789, high: 0.5987654321, source: 'calibration', method: 'normal-fit', scores: 40 },
});

function setup(initial: ReviewBand | null) {
  let stored = initial;
  const fake = fakeApi({
    models: {
      setReviewBand: (a: { modelId: number; band: ReviewBand | null }) => {
        stored = a.band;
        return model(a.modelId, { reviewBand: stored });
      },
      list: () => [model(2, { reviewBand: stored })],
    },
  });
  const app = new runes.app.AppState(fake.api);
  const view = runes.root.mount(() => new Band.ReviewBandState(fake.api, app));
  view.value.show(histogram(initial));
  return { fake, app, s: view.value, destroy: view.destroy, stored: () => stored };
}

describe('Models: the review band', () => {
  it('fills the proposal rounded outwards (it still holds the threshold), saves it and tells the user', async () => {
    const { s, fake, app, destroy, stored } = setup(null);
    expect([s.low, s.high, s.changed]).toEqual(['', '', false]);
    s.useProposal(histogram(null));
    expect([s.low, s.high]).toEqual(['0.4123456', '0.5987655']);
    expect(s.changed).toBe(true);
    expect(s.problem(0.45)).toBeNull();
    await s.save(0.45);
    expect(fake.argsOf('models.setReviewBand')).toEqual([{ modelId: 2, band: { low: 0.4123456, high: 0.5987655 } }]);
    expect(stored()).toEqual({ low: 0.4123456, high: 0.5987655 });
    expect(s.saved).toEqual(stored());
    expect(s.changed).toBe(false);
    expect(app.notices.at(-1)?.message).toMatch(/Review band set: images scoring above 0.4123 and up to 0.5988 get the verdict review/);
    destroy();
  });

  it('says what is wrong with a typed band and does not send it', async () => {
    const { s, fake, destroy } = setup(null);
    s.low = '0.5';
    s.high = '0.6';
    expect(s.problem(0.45)).toBe('The band must hold the threshold 0.4500.');
    s.low = '0.7';
    expect(s.problem(0.45)).toBe('The low end must be below the high end.');
    s.low = 'abc';
    expect(s.problem(0.45)).toBe('Give both ends as numbers.');
    await s.save(0.45);
    expect(fake.count('models.setReviewBand')).toBe(0);
    destroy();
  });

  it('shows the stored band, resets typing to it, and clears it', async () => {
    const { s, fake, destroy, stored } = setup({ low: 0.3, high: 0.5 });
    expect([s.low, s.high, s.changed]).toEqual(['0.3', '0.5', false]);
    s.high = '0.55';
    expect(s.changed).toBe(true);
    s.reset();
    expect([s.low, s.high]).toEqual(['0.3', '0.5']);
    await s.clear();
    expect(fake.argsOf('models.setReviewBand')).toEqual([{ modelId: 2, band: null }]);
    expect(stored()).toBeNull();
    expect([s.saved, s.low, s.high]).toEqual([null, '', '']);
    destroy();
  });

  it('tells what share of the test split the band sends to review', () => {
    // good 0.44 and defect 0.5 lie in (0.4, 0.55]; defect 0.6 and 0.9 still fail
    expect(Band.reviewShares(histogram(null).scores, 0.45, { low: 0.4, high: 0.55 })).toEqual({ normal: 0.25, defect: 0.25 });
  });
});

describe('Station: the chart of a station with a review band', () => {
  it('puts reviewed scores in their own series', () => {
    const c = Station.chartSeries({ threshold: 0.5, stoppedAtMs: null, scores: [
      { timeMs: 1000, score: 0.2, verdict: 'pass' }, { timeMs: 2000, score: 0.48, verdict: 'review' }, { timeMs: 3000, score: 0.9, verdict: 'fail' },
    ] }, 4000);
    expect([c.pass.length, c.review, c.fail.length]).toEqual([1, [{ x: -2, y: 0.48 }], 1]);
  });
});
