import { describe, expect, it } from 'vitest';
import { benchDb } from '../../src-main/services/bench-db';

describe('the data-layer benchmark hook', () => {
  it('times filtered listing queries over a generated dataset and reports the budgets', async () => {
    const r = await benchDb({ listImages: 600, repeats: 2 });
    expect(r.import).toBeUndefined();
    expect(r.withinBudget.import).toBeNull();
    expect(r.list.images).toBe(600);
    expect(r.list.queries.length).toBe(6);
    expect(r.list.queries[0]).toMatchObject({ total: 600, items: 100 });
    for (const q of r.list.queries) expect(q.medianMs).toBeGreaterThanOrEqual(0);
    expect(typeof r.withinBudget.list).toBe('boolean');
  });
});
