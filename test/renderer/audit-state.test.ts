/** The Audit view's state: filters sent with every page, paging, the kinds, the empty state and the CSV export. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgsOf, AuditRecord } from '../../src-main/common/api';
import type * as AuditModule from '../../src-renderer/lib/views/audit-state.svelte';
import { APP_INFO, fakeApi, loadRunes, type Runes } from './state-fixtures';

let runes: Runes;
let A: typeof AuditModule;

beforeAll(async () => {
  runes = await loadRunes();
  A = await runes.loader.import<typeof AuditModule>('src-renderer/lib/views/audit-state.svelte.ts');
});
afterAll(() => runes.loader.close());

function event(id: number, kind: string, over: Partial<AuditRecord> = {}): AuditRecord {
  const [entity = '', action = ''] = kind.split('.');
  return { id, atMs: id * 1000, kind, entity, entityId: id, action, actor: null, datasetId: 1, datasetName: 'Tiles', subject: `img-${id}.png`, detail: 'label: good → defect', old: null, new: null, ...over };
}

interface Setup {
  events?: AuditRecord[];
  exists?: boolean;
  confirm?: boolean;
}

function setup(o: Setup = {}) {
  const events = o.events ?? Array.from({ length: 130 }, (_, n) => event(130 - n, n % 3 ? 'image.label' : 'model_version.threshold'));
  const questions: string[] = [];
  const fake = fakeApi({
    app: { info: () => APP_INFO, checkPath: (a: { path: string }) => ({ path: a.path, exists: !!o.exists, isDirectory: false, isWritable: true }) },
    audit: {
      kinds: () => [...new Set(events.map((e) => e.kind))].sort(),
      list: (a: ArgsOf<'audit.list'>) => {
        const match = events.filter((e) => (!a.kinds || a.kinds.includes(e.kind)) && (!a.search || e.subject.includes(a.search)));
        return { rows: match.slice(a.offset ?? 0, (a.offset ?? 0) + (a.limit ?? 100)), total: match.length };
      },
      exportCsv: (a: ArgsOf<'audit.exportCsv'>) => ({ path: a.outPath.endsWith('.csv') ? a.outPath : `${a.outPath}.csv`, rows: 3 }),
    },
  });
  const app = new runes.app.AppState(fake.api);
  app.info = APP_INFO;
  app.route = { view: 'audit', datasetId: 1, imageId: null };
  const view = runes.root.mount(() => new A.AuditState(fake.api, app, { searchDelayMs: 1, confirm: (q) => (questions.push(q), !!o.confirm) }));
  return { fake, app, s: view.value, destroy: view.destroy, questions };
}

const wait = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

describe('Audit: the table', () => {
  it('loads the first page newest first, the kinds, and pages with the buttons and PageUp/PageDown', async () => {
    const { s, fake, destroy } = setup();
    await runes.root.settle();
    expect(s.loaded).toBe(true);
    expect(s.total).toBe(130);
    expect(s.rows).toHaveLength(100);
    expect(s.rows[0]!.id).toBe(130);
    expect(s.kinds).toEqual(['image.label', 'model_version.threshold']);
    expect(s.rowsText).toBe('rows 1–100 of 130');
    expect(s.pages).toBe(2);
    expect(s.key('PageDown')).toBe(true);
    await runes.root.settle();
    expect(s.rowsText).toBe('rows 101–130 of 130');
    expect(fake.argsOf('audit.list').at(-1)).toEqual({ offset: 100, limit: 100 });
    expect(s.key('PageDown')).toBe(false); // already on the last page
    s.setPageSize(25);
    await runes.root.settle();
    expect(s.rowsText).toBe('rows 1–25 of 130');
    destroy();
  });

  it('sends the filters with every page and goes back to the first page when one changes', async () => {
    const { s, fake, destroy } = setup();
    await runes.root.settle();
    s.goto(1);
    await runes.root.settle();
    s.toggleKind('model_version.threshold', true);
    await runes.root.settle();
    expect(s.page).toBe(0);
    expect(s.total).toBe(44);
    expect(s.rows.every((r) => r.kind === 'model_version.threshold')).toBe(true);
    s.setFilters({ from: '2026-01-02T03:04', to: '2026-01-02T05:00', datasetId: 1 });
    await runes.root.settle();
    const args = fake.argsOf<ArgsOf<'audit.list'>>('audit.list').at(-1)!;
    expect(args).toMatchObject({ kinds: ['model_version.threshold'], datasetId: 1, offset: 0, limit: 100 });
    expect(args.fromMs).toBe(new Date('2026-01-02T03:04').getTime());
    expect(args.toMs).toBe(new Date('2026-01-02T05:00').getTime() + 59_999);
    expect(s.filtered).toBe(true);
    s.toggleKind('model_version.threshold', false);
    s.clearFilters();
    await runes.root.settle();
    expect(fake.argsOf('audit.list').at(-1)).toEqual({ offset: 0, limit: 100 });
    expect(s.filtered).toBe(false);
    destroy();
  });

  it('sends the search a moment after typing stops', async () => {
    const { s, fake, destroy } = setup();
    await runes.root.settle();
    s.searchText = 'img-12';
    await wait(20);
    await runes.root.settle();
    expect(fake.argsOf('audit.list').at(-1)).toMatchObject({ search: 'img-12' });
    expect(s.rows.map((r) => r.subject).every((x) => x.includes('img-12'))).toBe(true);
    destroy();
  });

  it('shows an empty log as empty', async () => {
    const { s, destroy } = setup({ events: [] });
    await runes.root.settle();
    expect(s.loaded).toBe(true);
    expect(s.rows).toEqual([]);
    expect(s.kinds).toEqual([]);
    expect(s.rowsText).toBe('rows 0 of 0');
    destroy();
  });

  it('names the kinds in words', () => {
    expect(A.kindLabel('image.label')).toBe('Label');
    expect(A.kindLabel('review.decision')).toBe('review.decision');
  });
});

describe('Audit: the CSV export', () => {
  it('proposes a file in the data folder and writes the filtered events', async () => {
    const { s, fake, app, destroy } = setup();
    await runes.root.settle();
    expect(s.exportPath).toBe('/data/audit-log.csv');
    s.toggleKind('image.label', true);
    await s.exportCsv();
    expect(fake.argsOf('audit.exportCsv')).toEqual([{ kinds: ['image.label'], outPath: '/data/audit-log.csv', overwrite: false }]);
    expect(app.notices.at(-1)?.message).toBe('Audit log written: /data/audit-log.csv (3 events)');
    destroy();
  });

  it('asks before replacing a file, and keeps it when told no', async () => {
    const { s, fake, app, questions, destroy } = setup({ exists: true, confirm: false });
    await runes.root.settle();
    s.exportPath = '/out/log';
    await s.exportCsv();
    expect(questions).toEqual(['/out/log.csv already exists.\n\nReplace it?']);
    expect(fake.count('audit.exportCsv')).toBe(0);
    expect(app.notices.at(-1)?.message).toMatch(/not saved/);
    destroy();
  });

  it('writes at once over a file the save dialog confirmed', async () => {
    const { s, fake, questions, destroy } = setup({ exists: true });
    await runes.root.settle();
    s.exportPath = '/out/log.csv';
    s.exportChosen('/out/log.csv');
    await s.exportCsv();
    expect(questions).toEqual([]);
    expect(fake.argsOf('audit.exportCsv')).toEqual([{ outPath: '/out/log.csv', overwrite: true }]);
    destroy();
  });
});
