import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, copyFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';
import { inspectFolder, inspectImage } from '../../src-main/inspection/inspect';
import { openInspectionModel } from '../../src-main/model/scorer';
import { parseCsv, CSV_COLUMNS } from '../../src-main/reports/csv';
import type { InspectionFileResult, InspectionReport } from '../../src-main/model/records';
import { getFixture, removeDir, tempDir, type Fixture } from './fixture';
import { pdfText } from '../helpers/pdf-text';

let fx: Fixture;
let root: string;
let first: InspectionReport;
const streamed: InspectionFileResult[] = [];

beforeAll(async () => {
  fx = await getFixture();
  root = tempDir();
  first = await inspectFolder({ model: fx.modelPath, input: fx.testDir, out: join(root, 'run'), threads: 2, formats: ['pdf', 'csv', 'html'], onResult: (r) => { streamed.push(r); } });
}, 180_000);
afterAll(() => removeDir(root));

const label = (rel: string) => (rel.startsWith('good/') ? 'pass' : 'fail');

describe('inspecting the synthetic test set', () => {
  it('gives verdicts that agree with the labels at the model threshold, up to 3 missed defects of 30 images', () => {
    expect(first.total).toBe(30);
    expect(first.error).toBe(0);
    const goodFailed = first.results.filter((r) => label(r.rel) === 'pass' && r.verdict !== 'pass');
    const defectsPassed = first.results.filter((r) => label(r.rel) === 'fail' && r.verdict !== 'fail');
    // measured: every good image passes and 2 of 18 defects (faint scratches) pass at 60 steps
    expect(goodFailed.map((r) => r.rel)).toEqual([]);
    expect(defectsPassed.length).toBeLessThanOrEqual(3);
    expect(first.fail).toBe(18 - defectsPassed.length);
    for (const r of first.results) expect(r.verdict).toBe(r.score! > first.threshold ? 'fail' : 'pass');
    expect(first.threshold).toBe(fx.bundle.meta.threshold);
    expect(first.thresholdSource).toBe('model');
  });

  it('reports every file once through onResult, with its sha256 and pictures on disk', async () => {
    expect(streamed.map((r) => r.rel).sort()).toEqual(first.results.map((r) => r.rel).sort());
    const r = first.results.find((x) => x.rel === 'good/000.png')!;
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const f of [r.heatmap, r.overlay, r.thumbnail, r.overlayThumbnail]) expect(existsSync(f!)).toBe(true);
    const meta = await sharp(r.overlay!).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 256, 256]);
    expect((await sharp(r.thumbnail!).metadata()).format).toBe('jpeg');
  });

  it('writes one flushed JSON line per file after a header line', () => {
    const lines = readFileSync(join(root, 'run', 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; path?: string });
    expect(lines[0]!.type).toBe('header');
    expect(lines.filter((l) => l.type === 'result').map((l) => l.path).sort()).toEqual(first.results.map((r) => r.rel).sort());
  });

  it('writes a CSV with the documented columns and one row per file', () => {
    const rows = parseCsv(readFileSync(join(root, 'run', 'results.csv'), 'utf8'));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.length).toBe(31);
    const byPath = new Map(rows.slice(1).map((r) => [r[0], r]));
    for (const r of first.results) {
      const row = byPath.get(r.rel)!;
      expect(row[1]).toBe(r.sha256);
      expect(Number(row[2])).toBeCloseTo(r.score!, 5);
      expect(row[3]).toBe(r.verdict);
      expect(row[4]).toBe('');
    }
  });

  it('writes a PDF that holds the summary, the model hash and every file name', async () => {
    const text = (await pdfText(join(root, 'run', 'report.pdf'))).replace(/\s+/g, ' ');
    expect(text).toContain('Inspection report');
    expect(text).toMatch(/Total Pass Fail Error 30 \d+ \d+ 0/);
    expect(text).toContain(first.model.sha256);
    expect(text).toContain('held-out normal images');
    expect(text).toContain(`Failed images (${first.fail})`);
    expect(text).toContain(`Passed images (${first.pass})`);
    for (const r of first.results) expect(text).toContain(r.rel);
    expect(text).toMatch(/page 1 of \d+/);
  });

  it('writes a self-contained HTML report with inline thumbnails', () => {
    const html = readFileSync(join(root, 'run', 'report.html'), 'utf8');
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect((html.match(/src="data:image\/jpeg;base64,/g) ?? []).length).toBe(60);
    for (const r of first.results) expect(html).toContain(r.rel);
  });

  it('skips the files already done when run again, and re-judges them at a new threshold without re-scoring', async () => {
    const again = await inspectFolder({ model: fx.modelPath, input: fx.testDir, out: join(root, 'run'), threads: 2, formats: ['csv'] });
    expect(again.resumed).toBe(30);
    expect(again.inspected).toBe(0);
    expect(again.results.map((r) => r.score)).toEqual(first.results.map((r) => r.score));
    const lines = readFileSync(join(root, 'run', 'results.jsonl'), 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.includes('"type":"result"')).length).toBe(30);

    const strict = await inspectFolder({ model: fx.modelPath, input: fx.testDir, out: join(root, 'run'), threshold: -1e9, formats: [] });
    expect(strict.inspected).toBe(0);
    expect(strict.fail).toBe(30);
    expect(strict.thresholdSource).toBe('override');
  });

  it('gives the same scores and verdicts with the backbone and head in this thread (workers off), every file once', async () => {
    const here = await inspectFolder({ model: fx.modelPath, input: fx.testDir, out: join(root, 'noworkers'), threads: 2, workers: false, formats: ['csv'] });
    expect(here.results.map((r) => r.rel)).toEqual(first.results.map((r) => r.rel));
    here.results.forEach((r, i) => {
      expect(r.score).toBe(first.results[i]!.score);
      expect(r.verdict).toBe(first.results[i]!.verdict);
    });
    const paths = readFileSync(join(root, 'run', 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; path?: string }).filter((l) => l.type === 'result').map((l) => l.path);
    expect(new Set(paths).size).toBe(paths.length);
    const inWorkers = await openInspectionModel(fx.modelPath, { workers: true });
    const inThread = await openInspectionModel(fx.modelPath, { workers: false });
    try {
      expect([inWorkers.concurrency, inThread.concurrency ?? 1]).toEqual([2, 1]);
    } finally {
      await inWorkers.dispose();
      await inThread.dispose();
    }
  });

  it('scores one image with inspectImage exactly as the batch did', async () => {
    const model = await openInspectionModel(fx.modelPath, { threads: 2 });
    try {
      for (const rel of ['good/003.png', 'scratch/000.png']) {
        const one = await inspectImage({ model, image: join(fx.testDir, rel), out: join(root, 'single') });
        const batch = first.results.find((r) => r.rel === rel)!;
        expect(one.score!).toBeCloseTo(batch.score!, 5);
        expect(one.verdict).toBe(batch.verdict);
        expect(one.map!.length).toBe(256 * 256);
        expect(Math.max(...one.map!)).toBeCloseTo(one.score!, 5);
        expect(existsSync(one.overlay!)).toBe(true);
      }
      const bad = await inspectImage({ model, image: join(root, 'nope.png') });
      expect(bad.verdict).toBe('error');
      expect(bad.errorCode).toBe('NOT_FOUND');
    } finally {
      await model.dispose();
    }
  });
});

/** A PNG whose header claims `w` x `h` pixels, with no real pixel data behind it. */
function pngHeaderOnly(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

describe('files that cannot be inspected', () => {
  let dir: string;
  let s: InspectionReport;
  beforeAll(async () => {
    dir = join(root, 'bad-input');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const good = join(fx.testDir, 'good', '000.png');
    const goodBytes = readFileSync(good);
    copyFileSync(good, join(dir, 'good.png'));
    copyFileSync(good, join(dir, 'sub', 'same-bytes.png'));
    writeFileSync(join(dir, 'empty.png'), Buffer.alloc(0));
    writeFileSync(join(dir, 'truncated.png'), goodBytes.subarray(0, Math.floor(goodBytes.length / 2)));
    const corrupt = Buffer.from(goodBytes);
    for (let i = 60; i < corrupt.length - 20; i += 7) corrupt[i] ^= 0x5a;
    writeFileSync(join(dir, 'corrupt.png'), corrupt);
    writeFileSync(join(dir, 'notes.png'), 'this is a text file with an image name\n');
    writeFileSync(join(dir, 'huge.png'), pngHeaderOnly(20000, 20000));
    const px16 = new Uint16Array(64 * 48 * 3).map((_, i) => (i * 997) % 65536);
    writeFileSync(join(dir, 'deep16.png'), await sharp(Buffer.from(px16.buffer), { raw: { width: 64, height: 48, channels: 3 } }).toColourspace('rgb16').png().toBuffer());
    symlinkSync(join(dir, 'gone.png'), join(dir, 'dangling.png'));
    symlinkSync(join(dir, 'loop.png'), join(dir, 'loop.png'));
    mkdirSync(join(root, 'a-folder.png'));
    symlinkSync(join(root, 'a-folder.png'), join(dir, 'folder-link.png'));
    writeFileSync(join(dir, 'readme.txt'), 'not included by default');
    s = await inspectFolder({ model: fx.modelPath, input: dir, out: join(root, 'bad-out'), threads: 2, formats: ['pdf', 'csv'] });
  }, 120_000);

  const get = (rel: string) => s.results.find((r) => r.rel === rel)!;

  it('lists image files only unless asked otherwise', () => {
    expect(s.results.map((r) => r.rel).sort()).toEqual(
      ['corrupt.png', 'dangling.png', 'deep16.png', 'empty.png', 'folder-link.png', 'good.png', 'huge.png', 'loop.png', 'notes.png', 'sub/same-bytes.png', 'truncated.png'].sort(),
    );
  });

  it('reports each bad file with its reason and inspects the others', () => {
    expect(get('good.png').verdict).toBe('pass');
    expect(get('deep16.png').score).not.toBeNull(); // 16-bit images are read, not refused
    expect(get('sub/same-bytes.png').score).toBe(get('good.png').score);
    const reasons: [string, string, RegExp][] = [
      ['empty.png', 'BAD_IMAGE', /empty \(0 bytes\)/],
      ['truncated.png', 'BAD_IMAGE', /truncated|damaged|corrupt/],
      ['corrupt.png', 'BAD_IMAGE', /corrupt|damaged|truncated/],
      ['notes.png', 'BAD_IMAGE', /not an image file/],
      ['huge.png', 'IMAGE_TOO_LARGE', /20000x20000/],
      ['dangling.png', 'NOT_FOUND', /does not exist/],
      ['loop.png', 'BAD_IMAGE', /points to itself/],
      ['folder-link.png', 'BAD_IMAGE', /folder, not a file/],
    ];
    for (const [rel, code, re] of reasons) {
      const r = get(rel);
      expect({ rel, verdict: r.verdict, code: r.errorCode }).toEqual({ rel, verdict: 'error', code });
      expect(r.error).toMatch(re);
      expect(r.score).toBeNull();
    }
    expect(s.error).toBe(reasons.length);
  });

  it('puts the failed files and their reasons in the CSV and the PDF', async () => {
    const rows = parseCsv(readFileSync(join(root, 'bad-out', 'results.csv'), 'utf8'));
    const empty = rows.find((r) => r[0] === 'empty.png')!;
    expect(empty[3]).toBe('error');
    expect(empty[2]).toBe('');
    expect(empty[4]).toMatch(/empty/);
    const text = await pdfText(join(root, 'bad-out', 'report.pdf'));
    expect(text).toContain('Files that could not be inspected (8)');
    expect(text).toContain('IMAGE_TOO_LARGE');
    for (const r of s.results) expect(text).toContain(r.rel);
  });

  it('takes other files with include and exclude globs', async () => {
    const t = await inspectFolder({ model: fx.modelPath, input: dir, out: join(root, 'glob-out'), include: ['*.txt', 'sub/**'], exclude: ['**/same-*'], formats: [] });
    expect(t.results.map((r) => [r.rel, r.verdict])).toEqual([['readme.txt', 'error']]);
    expect(t.results[0]!.error).toMatch(/not an image file/);
  });
});

describe('a cancelled or refused inspection', () => {
  it('stops at the abort signal, keeps the finished results and continues on the next run', async () => {
    const out = join(root, 'cancel');
    const ac = new AbortController();
    let seen = 0;
    const run = inspectFolder({ model: fx.modelPath, input: fx.testDir, out, threads: 2, formats: [], onResult: () => { if (++seen === 3) ac.abort(); }, signal: ac.signal });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    const done = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').filter((l) => l.includes('"type":"result"')).length;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(30);
    const rest = await inspectFolder({ model: fx.modelPath, input: fx.testDir, out, threads: 2, formats: ['csv'] });
    expect(rest.resumed).toBe(done);
    expect(rest.inspected).toBe(30 - done);
    expect(rest.results.map((r) => r.score)).toEqual(first.results.map((r) => r.score));
  });

  it('refuses a model trained with another build of its backbone', async () => {
    const other = { ...fx.bundle, meta: { ...fx.bundle.meta, backbone: { ...fx.bundle.meta.backbone, sha256: '0'.repeat(64) } } };
    await expect(inspectFolder({ model: other, input: fx.testDir, out: join(root, 'other') })).rejects.toMatchObject({ code: 'BAD_MODEL', message: /different build of backbone/ });
  });

  it('refuses an output folder that holds results of another model', async () => {
    const other = { ...fx.bundle, meta: { ...fx.bundle.meta, createdAt: '2000-01-01T00:00:00.000Z' } };
    await expect(inspectFolder({ model: other, input: fx.testDir, out: join(root, 'run') })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: /another model/ });
    expect(readdirSync(join(root, 'run'))).toContain('results.jsonl');
  });
});
