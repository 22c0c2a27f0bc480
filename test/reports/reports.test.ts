import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { CSV_COLUMNS, CSV_TIME_COLUMNS, csvField, isoLocal, parseCsv, toCsv } from '../../src-main/reports/csv';
import { scoreHistogram } from '../../src-main/reports/histogram';
import { renderHtmlReport } from '../../src-main/reports/html';
import { writeReports } from '../../src-main/reports/index';
import { choosePdfFonts, printable } from '../../src-main/reports/fonts';
import type { InspectionFileResult, InspectionReport } from '../../src-main/model/records';
import { pdfPages, pdfText } from '../helpers/pdf-text';

let dir: string;
let summary: InspectionReport;

function result(i: number, thumb: string, overlay: string): InspectionFileResult {
  const score = 1 + (i % 17) / 10;
  const err = i % 25 === 24;
  return {
    path: `/data/line-${i % 3}/part_${i}.png`, rel: `line-${i % 3}/part_${String(i).padStart(4, '0')}.png`, sha256: err && i % 2 ? null : i.toString(16).padStart(64, '0'),
    score: err ? null : score, verdict: err ? 'error' : score > 2 ? 'fail' : 'pass', error: err ? `Cannot read image part_${i}.png: the file is empty (0 bytes).` : null, errorCode: err ? 'BAD_IMAGE' : null,
    heatmap: null, overlay: null, thumbnail: err ? null : thumb, overlayThumbnail: err ? null : overlay, width: 640, height: 480, resumed: i < 5,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-reports-'));
  mkdirSync(join(dir, 'thumbs'));
  const thumb = join(dir, 'thumbs', 't.jpg');
  const overlay = join(dir, 'thumbs', 'o.jpg');
  writeFileSync(thumb, await sharp({ create: { width: 160, height: 120, channels: 3, background: '#808080' } }).jpeg().toBuffer());
  writeFileSync(overlay, await sharp({ create: { width: 160, height: 120, channels: 3, background: '#2040c0' } }).jpeg().toBuffer());
  const results = Array.from({ length: 500 }, (_, i) => result(i, thumb, overlay));
  const n = (v: string) => results.filter((r) => r.verdict === v).length;
  summary = {
    input: '/data', out: dir, threshold: 2, thresholdSource: 'override',
    model: { file: '/models/widget.bgad', sha256: 'ab'.repeat(32), createdAt: '2026-01-02T03:04:05.000Z', backboneId: 'mobilenetv2', backboneSha256: 'cd'.repeat(32), inputSize: 256, threshold: 2.25, thresholdRule: { kind: 'held-out-false-reject-rate', rate: 0.01, heldOutImages: 40 }, mapMax: 2.6, trainingSteps: 300, knownAnomalies: 10 },
    total: results.length, pass: n('pass'), fail: n('fail'), error: n('error'), resumed: 5, inspected: 495, results,
    startedAt: '2026-01-02T04:00:00.000Z', elapsedMs: 1000, inspectMs: 900, imagesPerSecond: 550, msPerImage: 1.8, peakRssMb: 300, reports: {},
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the CSV report', () => {
  it('quotes fields with commas, quotes and line breaks as RFC 4180 says', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField('plain/path.png')).toBe('plain/path.png');
    expect(csvField(null)).toBe('');
  });

  it('has the documented columns and reads back to the same values', () => {
    const rows = [
      { rel: 'a,b/"odd" name.png', sha256: 'f'.repeat(64), score: 1.23456789, verdict: 'fail' as const, error: null },
      { rel: 'x.png', sha256: null, score: null, verdict: 'error' as const, error: 'Cannot read image x.png: it is a folder, not a file.\nSecond line' },
    ];
    const text = toCsv(rows);
    expect(text.split('\r\n')[0]).toBe('path,sha256,score,verdict,error');
    const parsed = parseCsv(text);
    expect(parsed).toEqual([[...CSV_COLUMNS], ['a,b/"odd" name.png', 'f'.repeat(64), '1.234568', 'fail', ''], ['x.png', '', '', 'error', rows[1]!.error]]);
  });

  it('gives each row of a shift report its inspection time: ISO 8601 local with the offset, and epoch ms', () => {
    const tz = process.env.TZ;
    // a half-hour offset east of UTC, and one west of it with daylight saving
    try {
      for (const [zone, expected] of [
        ['Asia/Kolkata', '2025-05-04T16:01:02.345+05:30'],
        ['America/New_York', '2025-05-04T06:31:02.345-04:00'],
        ['UTC', '2025-05-04T10:31:02.345+00:00'],
      ] as const) {
        process.env.TZ = zone;
        const at = Date.UTC(2025, 4, 4, 10, 31, 2, 345);
        expect(isoLocal(at), zone).toBe(expected);
        expect(Date.parse(isoLocal(at))).toBe(at);
        const text = toCsv([{ rel: 'a.png', sha256: 'a'.repeat(64), score: 1.5, verdict: 'fail', error: null, inspectedAtMs: at }, { rel: 'b.png', sha256: null, score: null, verdict: 'error', error: 'unreadable' }], { times: true });
        const [head, first, second] = parseCsv(text);
        expect(head).toEqual([...CSV_COLUMNS, ...CSV_TIME_COLUMNS]);
        expect(first).toEqual(['a.png', 'a'.repeat(64), '1.500000', 'fail', '', expected, String(at)]);
        // a row without a time keeps its place, with empty time cells
        expect(second).toEqual(['b.png', '', '', 'error', 'unreadable', '', '']);
      }
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    // without the option, the columns of `bgad inspect` and the station's results.csv
    expect(toCsv([{ rel: 'a.png', sha256: null, score: 1, verdict: 'pass', error: null, inspectedAtMs: 5 }]).split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
  });
});

describe('the score histogram', () => {
  it('always spans the threshold and counts failing scores apart', () => {
    const h = scoreHistogram([1, 1.1, 1.2], 5, 10);
    expect(h.lo).toBeLessThan(1);
    expect(h.hi).toBeGreaterThan(5);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(3);
    const g = scoreHistogram([1, 3, 4], 2, 4);
    expect(g.failCounts.reduce((a, b) => a + b, 0)).toBe(2);
  });
});

describe('the PDF report', () => {
  it('paginates 500 images and holds the summary, every file name and every failure reason', async () => {
    const written = await writeReports(summary, ['pdf'], dir);
    const pdf = written.pdf!;
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const pageTexts = await pdfPages(pdf);
    const raw = pageTexts.join('\n\f');
    const text = raw.replace(/\s+/g, ' ');
    expect(text).toContain('Inspection report');
    expect(text).toContain(summary.model.sha256);
    expect(text).toContain('/models/widget.bgad');
    expect(text).toContain("set for this run; the model's own threshold is 2.250000");
    expect(text).toContain('at most 1.0 % of 40 held-out normal images');
    expect(text).toContain(`Failed images (${summary.fail})`);
    expect(text).toContain(`Files that could not be inspected (${summary.error})`);
    for (const r of summary.results) expect(raw).toContain(r.rel);
    expect(text).toContain('the file is empty (0 bytes)');
    const pages = Number(/page 1 of (\d+)/.exec(text)![1]);
    expect(pages).toBeGreaterThan(40);
    expect(text).toContain(`page ${pages} of ${pages}`);
    // every page is numbered once: no page holds only a footer
    expect(pageTexts.length).toBe(pages);
    expect(text.match(/page \d+ of \d+/g)!.length).toBe(pages);
    // small JPEG thumbnails are embedded once each time; the file stays small
    expect(statSync(pdf).size).toBeLessThan(20e6);
  });
});

const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const DEJAVU_SKIP = `skipped: ${DEJAVU} is absent (apt-get install fonts-dejavu-core)`;

describe('non-Latin names in the PDF report', () => {
  it('keeps Helvetica for Latin-1 text and picks a font that covers the rest', () => {
    expect(choosePdfFonts(['part_0001.png', 'Größe-€.png'], [])).toEqual({ regular: null, bold: null, uncovered: [] });
    const none = choosePdfFonts(['деталь.png'], [{ regular: { path: '/nonexistent/font.ttf' } }]);
    expect(none.regular).toBeNull();
    expect(none.uncovered.sort()).toEqual([...'деталь'].filter((c, i, a) => a.indexOf(c) === i).sort());
    expect(printable('деталь-7.png', none)).toBe('??????-7.png');
  });

  it.skipIf(!existsSync(DEJAVU))('embeds an installed font so Cyrillic and Greek names print exactly; uncovered ones print as ? with a note', async () => {
    const f = choosePdfFonts(['деталь-Ω.png', '検査.png'], [{ regular: { path: '/nonexistent/arial.ttf' } }, { regular: { path: DEJAVU } }]);
    expect(f.regular).toEqual({ path: DEJAVU });
    expect(f.uncovered.sort()).toEqual(['検', '査'].sort());
    expect(printable('деталь-検査.png', f)).toBe('деталь-??.png');

    const before = process.env.BGAD_PDF_FONT;
    process.env.BGAD_PDF_FONT = DEJAVU;
    const out = mkdtempSync(join(tmpdir(), 'bgad-pdf-intl-'));
    try {
      const results = [
        { ...summary.results[0]!, rel: 'линия-2/деталь_0001.png', verdict: 'fail' as const, score: 3 },
        { ...summary.results[1]!, rel: 'Ωμέγα/part_0002.png', verdict: 'pass' as const, score: 1 },
        { ...summary.results[2]!, rel: '検査/0003.png', verdict: 'pass' as const, score: 1 },
      ];
      const s = { ...summary, input: '/данные', results, total: 3, pass: 2, fail: 1, error: 0 };
      const written = await writeReports(s, ['pdf'], out);
      const raw = await pdfText(written.pdf!);
      expect(raw).toContain('линия-2/деталь_0001.png');
      expect(raw).toContain('Ωμέγα/part_0002.png');
      expect(raw).toContain('folder /данные');
      // the CJK name is exact where an installed font has it, else '?' with the note
      if (!raw.includes('検査/0003.png')) {
        expect(raw).toContain('??/0003.png');
        expect(raw.replace(/\s+/g, ' ')).toMatch(/no installed font covers; they print as '\?'/);
      }
    } finally {
      if (before === undefined) delete process.env.BGAD_PDF_FONT;
      else process.env.BGAD_PDF_FONT = before;
      rmSync(out, { recursive: true, force: true });
    }
  });
  if (!existsSync(DEJAVU)) it.skip(DEJAVU_SKIP, () => undefined);
});

describe('the HTML report', () => {
  it('is one self-contained file with escaped names and inline thumbnails', async () => {
    const s = { ...summary, results: [...summary.results.slice(0, 3), { ...summary.results[0]!, rel: '<script>alert(1)</script>.png' }] };
    const html = await renderHtmlReport(s);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.png');
    expect(html).not.toMatch(/(src|href)="(https?:|\/)/);
    expect((html.match(/src="data:image\/jpeg;base64,/g) ?? []).length).toBe(8);
    expect(html).toContain('<svg');
  });
});

describe('writing reports where the disk refuses', () => {
  const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
  const mounts: string[] = [];
  const mountTmpfs = (at: string, size: string): boolean => {
    try {
      mkdirSync(at, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { stdio: 'pipe' });
      mounts.push(at);
      return true;
    } catch {
      return false;
    }
  };
  afterAll(() => {
    for (const m of mounts.reverse()) try { execFileSync('umount', ['-l', m], { stdio: 'pipe' }); } catch { /* gone */ }
  });

  it('names a full disk with the report path and what to do, not a stack trace (needs root to mount a small tmpfs)', async (ctx) => {
    const at = join(dir, 'full');
    if (process.platform !== 'linux' || !IS_ROOT || !mountTmpfs(at, '256k')) return ctx.skip();
    // fill it to the last byte
    try { writeFileSync(join(at, 'filler'), Buffer.alloc(1 << 20)); } catch { /* ENOSPC: full */ }
    await expect(writeReports(summary, ['csv', 'pdf'], at)).rejects.toMatchObject({ code: 'DISK_FULL', subject: join(at, 'results.csv'), message: expect.stringContaining('report') });
  });

  it('names a read-only folder with the report path', async (ctx) => {
    const at = join(dir, 'ro');
    if (IS_ROOT) {
      if (process.platform !== 'linux' || !mountTmpfs(at, '1m')) return ctx.skip();
      execFileSync('mount', ['-o', 'remount,ro', at], { stdio: 'pipe' });
    } else {
      if (process.platform === 'win32') return ctx.skip();
      mkdirSync(at);
      chmodSync(at, 0o555);
    }
    await expect(writeReports(summary, ['html'], at)).rejects.toMatchObject({ code: 'READ_ONLY', subject: join(at, 'report.html') });
  });
});
