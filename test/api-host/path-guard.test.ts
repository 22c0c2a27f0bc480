import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardFilePath, guardFileWithRoots } from '../../src-main/api-host/path-guard';

let dir: string;
let data: string;
let dataset: string;

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'bgad-guard-')));
  data = join(dir, 'data');
  dataset = join(dir, 'photos');
  mkdirSync(join(data, 'heatmaps'), { recursive: true });
  mkdirSync(join(dataset, 'train', 'good'), { recursive: true });
  writeFileSync(join(data, 'heatmaps', 'a.png'), 'png');
  writeFileSync(join(data, 'bgad.sqlite'), 'db');
  writeFileSync(join(dataset, 'train', 'good', '000.jpg'), 'jpg');
  writeFileSync(join(dir, 'outside.png'), 'secret');
  symlinkSync(join(dir, 'outside.png'), join(data, 'heatmaps', 'escape.png'));
  symlinkSync(dir, join(dataset, 'up'));
  symlinkSync(join(dataset, 'train', 'good', '000.jpg'), join(data, 'heatmaps', 'into-dataset.png'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const roots = () => [data, dataset];

describe('path guard', () => {
  it('serves a folder inspected a moment ago although the cached roots do not hold it yet, and still refuses what is outside them all', async () => {
    const asked: boolean[] = [];
    // the cached list (fresh = false) is from before the dataset folder became a root
    const cached = (fresh: boolean) => {
      asked.push(fresh);
      return fresh ? [data, dataset] : [data];
    };
    await expect(guardFileWithRoots(join(dataset, 'train', 'good', '000.jpg'), cached)).resolves.toMatchObject({ contentType: 'image/jpeg' });
    expect(asked).toEqual([false, true]);
    asked.length = 0;
    await expect(guardFileWithRoots(join(data, 'heatmaps', 'a.png'), cached)).resolves.toMatchObject({ contentType: 'image/png' });
    expect(asked).toEqual([false]); // inside the cached roots: no fresh read
    await expect(guardFileWithRoots(join(dir, 'outside.png'), cached)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFileWithRoots(join(data, 'bgad.sqlite'), cached)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/only image/) });
  });

  it('serves images under the data folder and imported folders', async () => {
    await expect(guardFilePath(join(data, 'heatmaps', 'a.png'), roots())).resolves.toMatchObject({ contentType: 'image/png', sizeBytes: 3 });
    await expect(guardFilePath(join(dataset, 'train', 'good', '000.jpg'), roots())).resolves.toMatchObject({ contentType: 'image/jpeg' });
  });

  it('refuses ".." even when it would land inside a root', async () => {
    await expect(guardFilePath(`${data}/heatmaps/../heatmaps/a.png`, roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath(`${data}/../outside.png`, roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath(`${data}\\..\\outside.png`, roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses absolute paths outside the allowed roots and relative paths', async () => {
    await expect(guardFilePath(join(dir, 'outside.png'), roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath('/etc/passwd.png', roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath('heatmaps/a.png', roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath(`${data}-evil/a.png`, roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses symlinks that escape the roots, and follows those that stay inside', async () => {
    await expect(guardFilePath(join(data, 'heatmaps', 'escape.png'), roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath(join(dataset, 'up', 'outside.png'), roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath(join(data, 'heatmaps', 'into-dataset.png'), roots())).resolves.toMatchObject({ path: join(dataset, 'train', 'good', '000.jpg') });
  });

  it('serves a link the importer recorded, by that very path only, wherever it points', async () => {
    const recorded = new Set([join(data, 'heatmaps', 'escape.png')]);
    const asked: string[] = [];
    const isImportedImage = (p: string) => (asked.push(p), recorded.has(p));
    await expect(guardFilePath(join(data, 'heatmaps', 'escape.png'), roots(), process.platform, { isImportedImage })).resolves.toMatchObject({ path: join(dir, 'outside.png') });
    await expect(guardFilePath(join(dir, 'outside.png'), roots(), process.platform, { isImportedImage })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guardFilePath(join(dataset, 'up', 'outside.png'), roots(), process.platform, { isImportedImage })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // ordinary files inside the roots cost no question
    asked.length = 0;
    await guardFilePath(join(data, 'heatmaps', 'a.png'), roots(), process.platform, { isImportedImage });
    expect(asked).toEqual([]);
  });

  it('serves GIFs, which the importer accepts', async () => {
    writeFileSync(join(dataset, 'train', 'good', 'anim.gif'), 'GIF89a');
    await expect(guardFilePath(join(dataset, 'train', 'good', 'anim.gif'), roots())).resolves.toMatchObject({ contentType: 'image/gif' });
  });

  it('serves only image files, never the database', async () => {
    await expect(guardFilePath(join(data, 'bgad.sqlite'), roots())).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('says NOT_FOUND for a missing image inside a root', async () => {
    await expect(guardFilePath(join(data, 'heatmaps', 'missing.png'), roots())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
