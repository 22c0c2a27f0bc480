/**
 * The one report-saving flow of the views (Inspect, Station, Models' robustness report): the
 * path gets the format's extension, an existing file is asked about (never silently
 * replaced), the save dialog's own yes covers exactly its file once, and the user is told the
 * outcome. Also the chart options the chart components share.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src-renderer/lib/api-client';
import { legendAndTooltip, linearAxis, XY_CHART } from '../../src-renderer/lib/charts';
import { ReportSaver } from '../../src-renderer/lib/report-save';

function harness(existing: string[] = []) {
  const files = new Set(existing);
  const notices: string[] = [];
  const failures: unknown[] = [];
  const asked: string[] = [];
  let answer = false;
  const api = { app: { checkPath: async ({ path }: { path: string }) => ({ path, exists: files.has(path), isDirectory: false, isWritable: true }) } };
  const saver = new ReportSaver(api as never, { notify: (n) => notices.push(n.message), fail: (e) => failures.push(e) }, (q) => (asked.push(q), answer));
  const writes: { outPath: string; overwrite: boolean }[] = [];
  const write = async (outPath: string, overwrite: boolean) => {
    writes.push({ outPath, overwrite });
    const file = outPath.endsWith('.pdf') || outPath.endsWith('.csv') ? outPath : `${outPath}.pdf`;
    if (files.has(file) && !overwrite) throw new ApiError({ code: 'CONFLICT', message: `The file ${file} already exists.`, subject: file });
    files.add(file);
    return { path: file };
  };
  return { saver, write, writes, notices, failures, asked, setAnswer: (a: boolean) => (answer = a) };
}

describe('saving a report from a view', () => {
  it('writes the format asked for beside a path of the other format, and says where', async () => {
    const h = harness();
    expect(await h.saver.save('/out/shift.pdf', 'csv', h.write)).toBe(true);
    expect(h.writes).toEqual([{ outPath: '/out/shift.csv', overwrite: false }]);
    expect(h.notices).toEqual(['Report written: /out/shift.csv']);
    expect(await h.saver.save('  ', 'pdf', h.write)).toBe(false);
    expect(h.writes).toHaveLength(1);
  });

  it('asks before replacing a file, and keeps it when the answer is no', async () => {
    const h = harness(['/out/shift.pdf']);
    expect(await h.saver.save('/out/shift.pdf', 'pdf', h.write)).toBe(false);
    expect(h.asked[0]).toMatch(/\/out\/shift\.pdf already exists/);
    expect(h.writes).toEqual([]);
    expect(h.notices).toEqual(['The report was not saved; the existing file was kept.']);
    h.setAnswer(true);
    expect(await h.saver.save('/out/shift.pdf', 'pdf', h.write)).toBe(true);
    expect(h.writes).toEqual([{ outPath: '/out/shift.pdf', overwrite: true }]);
  });

  it("takes the save dialog's yes for its own file once, and not for another format's file", async () => {
    const h = harness(['/out/a.pdf', '/out/a.csv']);
    expect(h.saver.chosen('/out/a.pdf')).toBe('pdf');
    // the CSV button after choosing a.pdf writes a.csv, which the dialog did not ask about
    expect(await h.saver.save('/out/a.pdf', 'csv', h.write)).toBe(false);
    expect(h.asked).toHaveLength(1);
    expect(await h.saver.save('/out/a.pdf', 'pdf', h.write)).toBe(true);
    expect(h.writes.at(-1)).toEqual({ outPath: '/out/a.pdf', overwrite: true });
    expect(h.asked).toHaveLength(1);
    // used up: the next write over it is asked about again
    await h.saver.save('/out/a.pdf', 'pdf', h.write);
    expect(h.asked).toHaveLength(2);
  });

  it('shows a failed write as an error, not a thrown one', async () => {
    const h = harness();
    const boom = new ApiError({ code: 'DISK_FULL', message: 'The disk is full.' });
    expect(await h.saver.save('/out/x', 'pdf', async () => Promise.reject(boom))).toBe(false);
    expect(h.failures).toEqual([boom]);
  });
});

describe('the chart options the charts share', () => {
  it('sizes by the box, takes points as given and prints ticks in the app number format', () => {
    expect(XY_CHART).toEqual({ responsive: true, maintainAspectRatio: false, parsing: false, normalized: true });
    const ago = linearAxis('seconds ago', 0, { max: 0, negate: true });
    expect(ago).toMatchObject({ type: 'linear', max: 0, title: { display: true, text: 'seconds ago' } });
    expect('negate' in ago).toBe(false);
    expect(ago.ticks.callback(-12)).toBe('12');
    expect(linearAxis('score', 2).ticks.callback(1.5)).toBe('1.50');
    const p = legendAndTooltip(4);
    expect(p.legend.position).toBe('bottom');
    expect(p.tooltip.callbacks.label({ dataset: { label: 'fail' }, parsed: { y: 0.123456 } })).toBe('fail: 0.1235');
  });
});
