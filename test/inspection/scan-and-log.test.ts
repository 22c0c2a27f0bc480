import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { globToRegExp, matchesGlob, globError } from '../../src-main/inspection/glob';
import { scanInputFolder } from '../../src-main/inspection/scan';
import { ResultsLog, type LogResult } from '../../src-main/inspection/results-log';
import { removeDir, tempDir } from './fixture';

let root: string;
beforeAll(() => {
  root = tempDir('bgad-scan-');
});
afterAll(() => removeDir(root));

describe('file globs', () => {
  it('match file names in any folder when the pattern has no slash', () => {
    expect(matchesGlob('a/b/c.png', '*.png')).toBe(true);
    expect(matchesGlob('c.PNG', '*.png')).toBe(true);
    expect(matchesGlob('a/c.png.txt', '*.png')).toBe(false);
  });

  it('treat ** as any number of folders and * as one name part', () => {
    expect(matchesGlob('line1/cam2/x.jpg', 'line1/**/*.jpg')).toBe(true);
    expect(matchesGlob('line1/x.jpg', 'line1/**/*.jpg')).toBe(true);
    expect(matchesGlob('line1/cam2/x.jpg', 'line1/*.jpg')).toBe(false);
    expect(matchesGlob('rejects/a/b.png', 'rejects/**')).toBe(true);
  });

  it('support ?, character classes and {a,b} alternatives, and escape regex characters', () => {
    expect(matchesGlob('img_7.tif', 'img_?.{tif,tiff}')).toBe(true);
    expect(matchesGlob('img_7.tiff', 'img_?.{tif,tiff}')).toBe(true);
    expect(matchesGlob('img_77.tif', 'img_?.tif')).toBe(false);
    expect(matchesGlob('b3.png', '[a-c][!0-2].png')).toBe(true);
    expect(matchesGlob('b1.png', '[a-c][!0-2].png')).toBe(false);
    expect(matchesGlob('a+b (1).png', 'a+b (1).png')).toBe(true);
    expect(globToRegExp('x.png').test('xypng')).toBe(false);
    // picomatch underneath: no negation, extglobs or regex groups; dot names match; \\ is a separator
    expect(matchesGlob('IMG (1)|2.png', 'img (1)|2.png')).toBe(true);
    expect(matchesGlob('!a.png', '!a.png')).toBe(true);
    expect(matchesGlob('ab.png', 'a*(b).png')).toBe(false);
    expect(matchesGlob('.cache/.x.png', '*.png')).toBe(true);
    expect(matchesGlob('line1/cam2/x.jpg', 'line1\\**\\*.jpg')).toBe(true);
    expect(matchesGlob('x.jpg', './x.jpg')).toBe(true);
  });

  it('match file names holding line breaks, tabs or other control characters', () => {
    for (const name of ['\rCR.png', 'a\nb.png', '\tTab.png', 'x\u2028y.png']) {
      expect(matchesGlob(name, '*.png'), JSON.stringify(name)).toBe(true);
      expect(matchesGlob(`sub/${name}`, '**/*.png'), JSON.stringify(name)).toBe(true);
    }
  });

  it('report a broken pattern', () => {
    expect(globError('{a,b')).toMatch(/unbalanced/);
    expect(globError('')).toMatch(/empty/);
    expect(globError('*.png')).toBeNull();
  });
});

describe('the folder scan', () => {
  it('lists image files recursively in sorted order and skips the output folder', async () => {
    const dir = join(root, 'in');
    for (const p of ['b/2.png', 'b/1.JPG', 'a.tif', 'notes.txt', 'out/heatmaps/a.tif.map.png', 'c/d/e.bmp']) {
      mkdirSync(join(dir, p, '..'), { recursive: true });
      writeFileSync(join(dir, p), 'x');
    }
    const s = await scanInputFolder(dir, { skipDirs: [join(dir, 'out')] });
    expect(s.files.map((f) => f.rel)).toEqual(['a.tif', 'b/1.JPG', 'b/2.png', 'c/d/e.bmp']);
    const t = await scanInputFolder(dir, { include: ['**/*'], exclude: ['b/**', 'out/**'] });
    expect(t.files.map((f) => f.rel)).toEqual(['a.tif', 'c/d/e.bmp', 'notes.txt']);
  });

  it('refuses a missing input folder or a file given as the folder', async () => {
    await expect(scanInputFolder(join(root, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    writeFileSync(join(root, 'file.png'), 'x');
    await expect(scanInputFolder(join(root, 'file.png'))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('the results log', () => {
  const rec = (path: string, sha: string): LogResult => ({
    type: 'result', path, sha256: sha, score: 1, verdict: 'pass', errorCode: null, error: null,
    heatmap: null, overlay: null, thumbnail: null, overlayThumbnail: null, width: 1, height: 1, at: '',
  });

  it('reads back finished results and cuts a torn last line', async () => {
    const file = join(root, 'results.jsonl');
    const log = await ResultsLog.open(file, { modelSha256: 'm1', modelFile: null });
    await log.append(rec('a.png', 'a'.repeat(64)));
    await log.append(rec('b.png', 'b'.repeat(64)));
    await log.close();
    appendFileSync(file, '{"type":"result","path":"c.png","sha2'); // the process died mid-write
    const again = await ResultsLog.open(file, { modelSha256: 'm1', modelFile: null });
    expect([...again.byPath.keys()]).toEqual(['a.png', 'b.png']);
    expect(again.bySha.has('b'.repeat(64))).toBe(true);
    await again.append(rec('c.png', 'c'.repeat(64)));
    await again.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['header', 'result', 'result', 'result']);
  });

  it('refuses to mix the results of two models in one folder', async () => {
    const file = join(root, 'results.jsonl');
    await expect(ResultsLog.open(file, { modelSha256: 'm2', modelFile: null })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
