/** The thumbnail grid at 10,000 images: only the visible cells are rendered and fetched. */
import { describe, expect, it } from 'vitest';
import { PagedList, pagesFor, visibleRange } from '../../src-renderer/lib/virtual-grid';

const N = 10_000;
const geometry = { viewportWidth: 1100, viewportHeight: 700, cellWidth: 136, cellHeight: 152, itemCount: N, overscanRows: 1 };

/** A fake image list: records which pages were fetched. */
function fakeList() {
  const fetched: number[] = [];
  const list = new PagedList<{ id: number; path: string }>(async (offset, limit) => {
    fetched.push(offset);
    const items = Array.from({ length: Math.max(0, Math.min(limit, N - offset)) }, (_, i) => ({ id: offset + i + 1, path: `/img/${offset + i}.png` }));
    return { items, total: N };
  }, { pageSize: 200 });
  return { list, fetched };
}

/** The thumbnails a grid requests: one per rendered, loaded cell (what ThumbGrid does). */
function thumbRequests(list: PagedList<{ path: string }>, start: number, end: number): string[] {
  const out: string[] = [];
  for (let i = start; i < end; i++) {
    const it = list.get(i);
    if (it) out.push(it.path);
  }
  return out;
}

describe('virtual grid', () => {
  it('renders only the visible rows plus one row of overscan', () => {
    const r = visibleRange({ ...geometry, scrollTop: 0 });
    expect(r.columns).toBe(8);
    expect(r.rowCount).toBe(1250);
    expect(r.totalHeight).toBe(1250 * 152);
    expect(r.start).toBe(0);
    expect(r.end).toBe(6 * 8); // 5 rows visible (700 / 152) + 1 overscan
  });

  it('moves the rendered window with the scroll position and clamps at the end', () => {
    const mid = visibleRange({ ...geometry, scrollTop: 152 * 600 + 10 });
    expect(mid.firstRow).toBe(599);
    expect(mid.start).toBe(599 * 8);
    expect(mid.end - mid.start).toBeLessThanOrEqual(8 * 7);
    expect(mid.offsetY).toBe(599 * 152);
    const end = visibleRange({ ...geometry, scrollTop: 1e9 });
    expect(end.end).toBe(N);
    expect(end.lastRow).toBe(1250);
  });

  it('requests only the visible thumbnails of 10,000 images while scrolling', async () => {
    const { list, fetched } = fakeList();
    await list.init();
    const requested = new Set<string>();
    for (const scrollTop of [0, 300, 152 * 400, 152 * 400 + 76, 152 * 1245]) {
      const r = visibleRange({ ...geometry, scrollTop });
      await list.ensure(r.start, r.end);
      const thumbs = thumbRequests(list, r.start, r.end);
      expect(thumbs.length).toBe(r.end - r.start);
      expect(thumbs.length).toBeLessThanOrEqual(8 * 8); // up to 6 partly visible rows + 2 of overscan
      thumbs.forEach((t) => requested.add(t));
    }
    // five scroll positions, overlapping windows: a few hundred at most, never the 10,000
    expect(requested.size).toBeLessThan(250);
    expect(requested.has('/img/5000.png')).toBe(false);
    // pages of records: the first, the two around row 400 and the last; not the 50 pages of the list
    expect(fetched.sort((a, b) => a - b)).toEqual([0, 3000, 3200, 9800]);
  });

  it('fetches a page once even when asked twice at the same time', async () => {
    const { list, fetched } = fakeList();
    await Promise.all([list.ensure(0, 10), list.ensure(5, 20), list.init()]);
    expect(fetched).toEqual([0]);
    expect(pagesFor(199, 401, 200)).toEqual([0, 1, 2]);
    expect(pagesFor(5, 5, 200)).toEqual([]);
  });
});
