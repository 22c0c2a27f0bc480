/**
 * CSV formula injection (OWASP "CSV Injection"): a text cell that starts with `=`, `+`, `-`,
 * `@`, a tab or a carriage return runs as a formula when the file is opened in a spreadsheet.
 * Every such text cell gets a leading `'`; numbers (scores, negative ones included) stay numbers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvField, neutraliseFormula, parseCsv, toCsv } from '../../src-main/reports/csv';
import { writeReports } from '../../src-main/reports/index';
import type { InspectionFileResult, InspectionReport } from '../../src-main/model/records';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const TRIGGERS = ['=', '+', '-', '@', '\t', '\r'];

describe('CSV formula injection', () => {
  it('prefixes a quote to every text cell that starts with = + - @ tab or CR', () => {
    for (const c of TRIGGERS) {
      expect(neutraliseFormula(`${c}x`)).toBe(`'${c}x`);
      expect(parseCsv(csvField(`${c}cmd|' /C calc'!A0.png`) + '\r\n')[0]![0]).toBe(`'${c}cmd|' /C calc'!A0.png`);
    }
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('plain.png')).toBe('plain.png');
    expect(csvField('a=b.png')).toBe('a=b.png');
    expect(csvField(' =x')).toBe('" =x"'); // a leading space is quoted as before
    expect(csvField(-1.5)).toBe('-1.5'); // numbers stay numbers
  });

  it('writes file names, errors and hashes neutralised and scores as plain numbers in results.csv', async () => {
    const r = (rel: string, score: number | null, error: string | null = null): InspectionFileResult => ({
      path: `/in/${rel}`, rel, sha256: score === null ? null : 'a'.repeat(64), score, verdict: score === null ? 'error' : score > 0 ? 'fail' : 'pass', error, errorCode: error ? 'BAD_IMAGE' : null,
      heatmap: null, overlay: null, thumbnail: null, overlayThumbnail: null, width: null, height: null, resumed: false,
    });
    const results = [r('=1+2.png', -0.25), r('+sum.png', 0.5), r('-x.png', -3), r('@SUM(A1).png', 0), r('\tTab.png', 1), r('\rcr.png', 1), r('ok.png', 0.125), r('bad.png', null, '=cmd error')];
    const text = toCsv(results);
    const rows = parseCsv(text).slice(1);
    expect(rows.map((x) => x[0])).toEqual(["'=1+2.png", "'+sum.png", "'-x.png", "'@SUM(A1).png", "'\tTab.png", "'\rcr.png", 'ok.png', 'bad.png']);
    expect(rows.map((x) => x[2])).toEqual(['-0.250000', '0.500000', '-3.000000', '0.000000', '1.000000', '1.000000', '0.125000', '']);
    expect(text).toContain(',-0.250000,'); // unquoted, no quote prefix: a number in Excel
    expect(rows[7]![4]).toBe("'=cmd error");

    // the file that bgad inspect and the app's CSV export write (the app copies results.csv)
    const dir = mkdtempSync(join(tmpdir(), 'bgad-csv-inj-'));
    dirs.push(dir);
    const summary = { results } as unknown as InspectionReport;
    const written = await writeReports(summary, ['csv'], dir);
    expect(readFileSync(written.csv!, 'utf8')).toBe(text);
  });
});
