/**
 * Reading an image file must never hang or read without bound: a `.png` that is (or links to)
 * a character device (/dev/zero, /dev/urandom), a FIFO or a socket is refused before it is
 * read, and a file above the byte cap is refused before a byte of it is read. The importer
 * reads through the same function. FIFOs and devices are POSIX: those tests skip on Windows.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, truncateSync, writeFileSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FILE_BYTES, loadImageTensor, probeImage, readImageBytes, readMaskPng, readVerifiedRegularFile } from '../../src-main/images/load';
import { importFolder } from '../../src-main/services/import';
import { createDataset } from '../../src-main/db/datasets';
import { tempStore, removeDir } from '../db/helpers';

const POSIX = process.platform !== 'win32';
const NO_POSIX = 'FIFOs and /dev devices do not exist on Windows';

let dir: string;
/** FIFOs created by the tests: each is opened for writing and closed at the end, so a read that did block (before the fix) is released. */
const fifos: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-safe-read-'));
});
afterAll(() => {
  for (const f of fifos) {
    try {
      closeSync(openSync(f, fsc.O_WRONLY | fsc.O_NONBLOCK)); // wakes a reader blocked in open(), if any
    } catch {
      // no reader: nothing to release
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function mkfifo(path: string): boolean {
  if (!POSIX) return false;
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) return false;
  fifos.push(path);
  return true;
}

/** Settles within `ms` or fails (the pre-fix reads never settle). */
async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`did not settle within ${ms} ms (the read blocks)`)), ms); });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await within(5000, p);
  } catch (e) {
    return e as { code: string; message: string; hint?: string };
  }
  throw new Error('expected the read to be refused');
}

describe('reading an image file safely', () => {
  it('refuses a .png that links to /dev/zero or /dev/urandom at once, naming the file and what it points at', async (ctx) => {
    ctx.skip(!POSIX || !existsSync('/dev/zero') || !existsSync('/dev/urandom'), NO_POSIX);
    for (const dev of ['/dev/zero', '/dev/urandom']) {
      const link = join(dir, `${dev.slice(5)}.png`);
      symlinkSync(dev, link);
      const rss0 = process.memoryUsage().rss;
      for (const read of [() => probeImage(link), () => loadImageTensor(link, 32), () => readMaskPng(link), () => readImageBytes(link)]) {
        const e = await refusal(read());
        expect(e.code).toBe('BAD_IMAGE');
        expect(e.message).toContain(link);
        expect(e.message).toContain(dev);
        expect(e.message).toMatch(/character device/);
        expect(e.message).toMatch(/not a regular file/);
      }
      expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 2 ** 20);
    }
  });

  it('refuses a FIFO named .png and a link to one, without blocking', async (ctx) => {
    const fifo = join(dir, 'pipe.png');
    ctx.skip(!mkfifo(fifo), NO_POSIX);
    const link = join(dir, 'pipe-link.png');
    symlinkSync(fifo, link);
    const direct = await refusal(probeImage(fifo));
    expect(direct).toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/pipe\.png.*named pipe \(FIFO\).*not a regular file/) });
    const linked = await refusal(loadImageTensor(link, 32));
    expect(linked.code).toBe('BAD_IMAGE');
    expect(linked.message).toContain(link);
    expect(linked.message).toContain(fifo);
    expect(linked.message).toMatch(/named pipe/);
  });

  it('checks the opened file itself, so a FIFO that replaces the file after the stat cannot block the read', async (ctx) => {
    const fifo = join(dir, 'swapped.png');
    ctx.skip(!mkfifo(fifo), NO_POSIX);
    // readVerifiedRegularFile is the part after the stat: it opens without blocking and checks the opened file
    const e = await refusal(readVerifiedRegularFile(fifo, fifo, DEFAULT_MAX_FILE_BYTES));
    expect(e).toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/named pipe/) });
  });

  it('refuses a file above the byte cap before reading it, and says how to raise the cap', async () => {
    expect(DEFAULT_MAX_FILE_BYTES).toBe(1024 ** 3);
    const big = join(dir, 'big.png');
    writeFileSync(big, Buffer.alloc(0));
    truncateSync(big, 1.5 * 1024 ** 3); // sparse: takes no disk space
    const maxRss0 = process.resourceUsage().maxRSS;
    const t0 = performance.now();
    for (const read of [() => probeImage(big), () => loadImageTensor(big, 32), () => readImageBytes(big)]) {
      const e = await refusal(read());
      expect(e.code).toBe('IMAGE_TOO_LARGE');
      expect(e.message).toContain(big);
      expect(e.message).toMatch(/1\.50 GiB.*limit of 1\.00 GiB/);
      expect(e.hint).toMatch(/maxFileBytes|--max-file-mb/);
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    // nothing of it was read: the peak memory of this process did not grow by the file's size
    expect((process.resourceUsage().maxRSS - maxRss0) * 1024).toBeLessThan(300 * 2 ** 20);
  });

  it('honours a smaller cap, and reads a file of exactly the cap', async () => {
    const p = join(dir, 'small.png');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer();
    writeFileSync(p, png);
    await expect(probeImage(p, { maxBytes: png.length - 1 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await expect(probeImage(p, { maxBytes: png.length })).resolves.toMatchObject({ width: 8, bytes: png.length });
    expect((await readImageBytes(p)).equals(png)).toBe(true);
  });

  it('keeps the reasons for a missing file, a folder and a link loop', async () => {
    await expect(readImageBytes(join(dir, 'nope.png'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/does not exist/) });
    mkdirSync(join(dir, 'folder.png'));
    await expect(readImageBytes(join(dir, 'folder.png'))).rejects.toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/folder, not a file/) });
    if (POSIX) {
      symlinkSync(join(dir, 'loop.png'), join(dir, 'loop.png'));
      await expect(readImageBytes(join(dir, 'loop.png'))).rejects.toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/points to itself|loop/) });
    }
  });
});

describe('the importer', () => {
  let src: string;
  beforeAll(() => {
    src = mkdtempSync(join(tmpdir(), 'bgad-safe-import-'));
  });
  afterAll(() => removeDir(src));

  it('rejects devices, FIFOs and files above the byte cap with the reason instead of hanging, and imports the rest', async (ctx) => {
    ctx.skip(!POSIX || !existsSync('/dev/zero'), NO_POSIX);
    // an MVTec category: files directly in a split folder are taken too, and the FIFO there used to block the import
    const cat = join(src, 'widget');
    mkdirSync(join(cat, 'train', 'good'), { recursive: true });
    mkdirSync(join(cat, 'test', 'good'), { recursive: true });
    const png = (v: number) => sharp({ create: { width: 16, height: 16, channels: 3, background: { r: v, g: 0, b: 0 } } }).png().toBuffer();
    writeFileSync(join(cat, 'train', 'good', '000.png'), await png(10));
    writeFileSync(join(cat, 'test', 'good', '000.png'), await png(20));
    symlinkSync('/dev/zero', join(cat, 'train', 'good', 'zero.png'));
    ctx.skip(!mkfifo(join(cat, 'train', 'pipe.png')), NO_POSIX);
    const big = join(cat, 'test', 'good', 'big.png');
    writeFileSync(big, Buffer.alloc(0));
    truncateSync(big, 1.5 * 1024 ** 3);

    const store = tempStore();
    try {
      const ds = createDataset(store, { name: 'safe' });
      const maxRss0 = process.resourceUsage().maxRSS;
      const s = await within(20_000, importFolder(store, { src: cat, datasetId: ds.id }));
      expect((process.resourceUsage().maxRSS - maxRss0) * 1024).toBeLessThan(300 * 2 ** 20);
      expect(s.imported).toBe(2);
      const rejected = Object.fromEntries(s.rejected.map((r) => [r.path, r]));
      expect(Object.keys(rejected).sort()).toEqual(['test/good/big.png', 'train/good/zero.png', 'train/pipe.png']);
      expect(rejected['train/good/zero.png']).toMatchObject({ code: 'BAD_IMAGE', reason: expect.stringMatching(/\/dev\/zero, a character device/) });
      expect(rejected['train/pipe.png']).toMatchObject({ code: 'BAD_IMAGE', reason: expect.stringMatching(/named pipe/) });
      expect(rejected['test/good/big.png']).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    } finally {
      store.close();
      removeDir(store.dir);
    }
  }, 30_000);
});
