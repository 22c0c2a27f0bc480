/** The Datasets view's state: the filters, the selection (click, Ctrl+click, Shift+click) and the import. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf } from '../../src-main/common/api';
import type * as DatasetsModule from '../../src-renderer/lib/views/datasets-state.svelte';
import { fakeApi, imageRecord, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let Datasets: typeof DatasetsModule;

beforeAll(async () => {
  runes = await loadRunes();
  Datasets = await runes.loader.import<typeof DatasetsModule>('src-renderer/lib/views/datasets-state.svelte.ts');
});
afterAll(() => runes.loader.close());

const IMAGES = Array.from({ length: 10 }, (_, i) => imageRecord(i + 1, { label: i < 3 ? 'defect' : 'good' }));

function setup() {
  const fake = fakeApi({
    images: {
      list: (a: ArgsOf<'images.list'>) => {
        const all = IMAGES.filter((i) => !a.label || i.label === a.label);
        return { items: all.slice(a.offset ?? 0, (a.offset ?? 0) + (a.limit ?? 200)), total: all.length, nextCursor: null };
      },
    },
    defectTypes: { list: () => [] },
    datasets: { importFolder: () => ({ jobId: 'imp-1' }) },
  });
  const app = new runes.app.AppState(fake.api);
  app.route = { view: 'datasets', datasetId: 1, imageId: null };
  const view = runes.root.mount(() => new Datasets.DatasetsState(fake.api, app));
  return { fake, app, s: view.value, destroy: view.destroy };
}

const plain = { ctrl: false, shift: false };

describe('Datasets: images and selection', () => {
  it('lists the images through the filters and counts them', async () => {
    const { s, fake, destroy } = setup();
    void s.list; // the grid reads it
    await runes.root.settle();
    expect(s.countText).toBe('10 images');
    s.filterLabel = 'defect';
    void s.list;
    await runes.root.settle();
    expect(fake.argsOf<ArgsOf<'images.list'>>('images.list').at(-1)).toMatchObject({ datasetId: 1, label: 'defect', offset: 0, limit: 200 });
    expect(s.countText).toBe('3 images');
    destroy();
  });

  it('selects one image with a click, toggles with Ctrl and a range with Shift', async () => {
    const { s, destroy } = setup();
    void s.list;
    await runes.root.settle();
    s.select(2, IMAGES[2]!, plain);
    expect([...s.selected]).toEqual([3]);
    expect(s.detail?.id).toBe(3);
    s.select(5, IMAGES[5]!, { ctrl: false, shift: true });
    expect([...s.selected].sort((a, b) => a - b)).toEqual([3, 4, 5, 6]);
    expect(s.detail).toBeNull();
    expect(s.countText).toBe('10 images · 4 selected');
    s.select(3, IMAGES[3]!, { ctrl: true, shift: false });
    expect([...s.selected].sort((a, b) => a - b)).toEqual([3, 5, 6]);
    s.select(0, IMAGES[0]!, plain);
    expect([...s.selected]).toEqual([1]);
    s.selectLoaded();
    expect(s.selected.size).toBe(10);
    s.clearSelection();
    expect(s.selected.size).toBe(0);
    destroy();
  });

  it('forgets the selection when another dataset is chosen', async () => {
    const { s, app, destroy } = setup();
    await runes.root.settle();
    s.select(1, IMAGES[1]!, plain);
    await app.go({ datasetId: 2 });
    await runes.root.settle();
    expect(s.selected.size).toBe(0);
    expect(s.detail).toBeNull();
    destroy();
  });

  it('imports a folder into the dataset as a job that shows in the view', async () => {
    const { s, fake, app, destroy } = setup();
    await runes.root.settle();
    expect(s.canImport).toBe(false);
    s.folder = ' /photos/line-1 ';
    expect(s.canImport).toBe(true);
    await s.startImport();
    expect(fake.argsOf('datasets.importFolder')).toEqual([{ datasetId: 1, folder: '/photos/line-1' }]);
    expect(s.importJob).toMatchObject({ jobId: 'imp-1', kind: 'import', status: 'running' });
    expect(s.canImport).toBe(false);
    expect(app.latestJob('import')?.jobId).toBe('imp-1');
    destroy();
  });
});
