import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src-main/common/errors';
import { loadImageTensor, loadImageTensorFromBuffer, probeImage, readMaskPng, writeMaskPng } from '../../src-main/images/load';
import { decodeBmp, encodeBmp24 } from '../../src-main/images/bmp';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgad-images-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function expectAppError(p: Promise<unknown>, code: string, mention: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  expect(isAppError(caught), String(caught)).toBe(true);
  const err = caught as { code: string; message: string; hint?: string };
  expect(err.code).toBe(code);
  expect(err.message).toContain(mention);
  expect(err.hint ?? '').not.toBe('');
}

function crc32(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A PNG whose header claims a huge size: a decompression bomb stand-in. */
function hugePngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(width + 1))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

describe('probeImage', () => {
  it('reports size, channels, depth, format and the content hash of a PNG', async () => {
    const p = join(dir, 'rgb.png');
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#336699' } }).png().toBuffer();
    writeFileSync(p, png);
    const info = await probeImage(p);
    expect(info).toMatchObject({ path: p, width: 40, height: 30, channels: 3, bitDepth: 8, format: 'png', bytes: png.length });
    expect(info.sha256).toBe(createHash('sha256').update(png).digest('hex'));
  });

  it('rejects a zero-byte file as BAD_IMAGE naming the file', async () => {
    const p = join(dir, 'empty.jpg');
    writeFileSync(p, Buffer.alloc(0));
    await expectAppError(probeImage(p), 'BAD_IMAGE', 'empty.jpg');
    await expectAppError(loadImageTensor(p, 32), 'BAD_IMAGE', 'empty (0 bytes)');
  });

  it('rejects random bytes with a .png extension as BAD_IMAGE', async () => {
    const p = join(dir, 'noise.png');
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) & 255;
    writeFileSync(p, bytes);
    await expectAppError(probeImage(p), 'BAD_IMAGE', 'noise.png');
  });

  it('rejects a text file as BAD_IMAGE', async () => {
    const p = join(dir, 'notes.txt');
    writeFileSync(p, 'these are not pixels\n');
    await expectAppError(loadImageTensor(p, 32), 'BAD_IMAGE', 'notes.txt');
  });

  it('rejects an SVG even though the decoder could render it', async () => {
    const p = join(dir, 'drawing.svg');
    writeFileSync(p, '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await expectAppError(probeImage(p), 'BAD_IMAGE', 'SVG');
  });

  it('reports a missing file as NOT_FOUND', async () => {
    await expectAppError(probeImage(join(dir, 'nope.png')), 'NOT_FOUND', 'nope.png');
  });

  it('rejects a 20000x20000 PNG header as IMAGE_TOO_LARGE without decoding it', async () => {
    const p = join(dir, 'bomb.png');
    writeFileSync(p, hugePngHeader(20000, 20000));
    await expectAppError(probeImage(p), 'IMAGE_TOO_LARGE', 'bomb.png');
    await expectAppError(loadImageTensor(p, 64), 'IMAGE_TOO_LARGE', '20000x20000');
  });

  it('honours a smaller pixel limit', async () => {
    const p = join(dir, 'medium.png');
    writeFileSync(p, await sharp({ create: { width: 100, height: 100, channels: 3, background: '#000' } }).png().toBuffer());
    await expectAppError(loadImageTensor(p, 32, { maxPixels: 5000 }), 'IMAGE_TOO_LARGE', 'medium.png');
    await expect(loadImageTensor(p, 32, { maxPixels: 10_000 })).resolves.toBeDefined();
  });
});

describe('loadImageTensor', () => {
  it('rejects a truncated JPEG as BAD_IMAGE instead of returning grey pixels', async () => {
    const p = join(dir, 'cut.jpg');
    const raw = Buffer.alloc(200 * 150 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 31) & 255;
    const jpg = await sharp(raw, { raw: { width: 200, height: 150, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
    writeFileSync(p, jpg.subarray(0, Math.floor(jpg.length / 2)));
    await expectAppError(loadImageTensor(p, 64), 'BAD_IMAGE', 'cut.jpg');
    await expectAppError(probeImage(p, { verify: true }), 'BAD_IMAGE', 'truncated');
    await expect(probeImage(p)).resolves.toMatchObject({ width: 200 }); // the header alone is fine
  });

  it('resizes without keeping the aspect ratio and returns planar RGB in [0,1]', async () => {
    const p = join(dir, 'colour.png');
    writeFileSync(p, await sharp({ create: { width: 50, height: 20, channels: 3, background: { r: 255, g: 128, b: 0 } } }).png().toBuffer());
    const { chw, info } = await loadImageTensor(p, 16);
    expect(chw.length).toBe(3 * 16 * 16);
    expect(info.width).toBe(50);
    expect(chw[0]).toBeCloseTo(1, 5);
    expect(chw[256 + 100]).toBeCloseTo(128 / 255, 5);
    expect(chw[512 + 255]).toBeCloseTo(0, 5);
  });

  it('replicates an 8-bit grey image to three equal channels', async () => {
    const grey = Buffer.alloc(8 * 8, 77);
    const png = await sharp(grey, { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const { chw, info } = await loadImageTensorFromBuffer(png, 8, 'grey.png');
    expect(info.channels).toBe(1);
    for (const c of [0, 1, 2]) expect(chw[c * 64 + 10]).toBeCloseTo(77 / 255, 5);
  });

  it('loads a 16-bit grey PNG with 16-bit precision scaled to [0,1]', async () => {
    const w = 4, h = 4;
    const a = new Uint16Array(w * h);
    for (let i = 0; i < a.length; i++) a[i] = i * 4000 + 3;
    const p = join(dir, 'deep.png');
    writeFileSync(p, await sharp(a, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png().toBuffer());
    const { chw, info } = await loadImageTensor(p, 4);
    expect(info.bitDepth).toBe(16);
    for (let i = 0; i < a.length; i++) {
      for (const c of [0, 1, 2]) expect(Math.abs(chw[c * 16 + i]! - a[i]! / 65535)).toBeLessThan(1e-6);
    }
  });

  it('loads a 16-bit RGBA PNG compositing alpha on black', async () => {
    const a = new Uint16Array(2 * 2 * 4);
    for (let i = 0; i < 4; i++) a.set([65535, 32768, 0, i < 2 ? 65535 : 0], i * 4);
    const png = await sharp(a, { raw: { width: 2, height: 2, channels: 4 } }).toColourspace('rgb16').png().toBuffer();
    const { chw, info } = await loadImageTensorFromBuffer(png, 2, 'rgba16.png');
    expect(info).toMatchObject({ bitDepth: 16, channels: 4 });
    expect(chw[0]).toBeCloseTo(1, 5);
    expect(chw[4]).toBeCloseTo(32768 / 65535, 5);
    expect(chw[3]).toBeCloseTo(0, 5); // transparent pixel
  });

  it('applies the EXIF orientation so a rotated JPEG reports and returns rotated content', async () => {
    // 40 wide x 20 high, left half white, right half black; orientation 6 = rotate 90 clockwise.
    const w = 40, h = 20;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) raw.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const jpg = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const p = join(dir, 'rotated.jpg');
    writeFileSync(p, jpg);
    const info = await probeImage(p);
    expect([info.width, info.height]).toEqual([20, 40]);
    const { chw } = await loadImageTensor(p, 20);
    // After a 90-degree clockwise turn the white half is on top.
    expect(chw[2 * 20 + 10]).toBeGreaterThan(0.9);
    expect(chw[17 * 20 + 10]).toBeLessThan(0.1);
  });

  it('decodes a 24-bit BMP through the fallback decoder', async () => {
    const w = 5, h = 3;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 17) & 255;
    const p = join(dir, 'pic.bmp');
    writeFileSync(p, encodeBmp24(rgb, w, h));
    expect(Buffer.from(decodeBmp(readFileSync(p)).rgb)).toEqual(Buffer.from(rgb));
    const info = await probeImage(p);
    expect(info).toMatchObject({ format: 'bmp', width: 5, height: 3 });
    const { chw } = await loadImageTensor(p, 4);
    expect(chw.length).toBe(48);
  });

  it('decodes a top-down 32-bit and an 8-bit paletted BMP', () => {
    // 2x2 32-bit BGRX, top-down (negative height).
    const b32 = Buffer.alloc(54 + 16);
    b32.write('BM', 0, 'ascii');
    b32.writeUInt32LE(b32.length, 2);
    b32.writeUInt32LE(54, 10);
    b32.writeUInt32LE(40, 14);
    b32.writeInt32LE(2, 18);
    b32.writeInt32LE(-2, 22);
    b32.writeUInt16LE(1, 26);
    b32.writeUInt16LE(32, 28);
    b32.set([0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 0, 10, 20, 30, 0], 54);
    expect(Array.from(decodeBmp(b32).rgb)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 30, 20, 10]);

    // 3x1 8-bit with a 2-entry palette (rows padded to 4 bytes).
    const b8 = Buffer.alloc(54 + 8 + 4);
    b8.write('BM', 0, 'ascii');
    b8.writeUInt32LE(b8.length, 2);
    b8.writeUInt32LE(62, 10);
    b8.writeUInt32LE(40, 14);
    b8.writeInt32LE(3, 18);
    b8.writeInt32LE(1, 22);
    b8.writeUInt16LE(1, 26);
    b8.writeUInt16LE(8, 28);
    b8.writeUInt32LE(2, 46);
    b8.set([0, 0, 0, 0, 200, 200, 200, 0], 54);
    b8.set([1, 0, 1, 0], 62);
    expect(Array.from(decodeBmp(b8).rgb)).toEqual([200, 200, 200, 0, 0, 0, 200, 200, 200]);
  });

  it('rejects an RLE-compressed BMP with a reason', async () => {
    const b = Buffer.from(encodeBmp24(new Uint8Array(12), 2, 2));
    b.writeUInt16LE(8, 28);
    b.writeUInt32LE(1, 30);
    const p = join(dir, 'rle.bmp');
    writeFileSync(p, b);
    await expectAppError(probeImage(p), 'BAD_IMAGE', 'RLE8');
  });

  it('reads TIFF and WebP files', async () => {
    const base = sharp({ create: { width: 12, height: 9, channels: 3, background: '#808080' } });
    for (const [ext, buf] of [['tif', await base.clone().tiff().toBuffer()], ['webp', await base.clone().webp({ lossless: true }).toBuffer()]] as const) {
      const p = join(dir, `img.${ext}`);
      writeFileSync(p, buf);
      const { chw, info } = await loadImageTensor(p, 8);
      expect(info.width).toBe(12);
      expect(chw[5]).toBeCloseTo(128 / 255, 2);
    }
  });
});

describe('mask PNG', () => {
  it('round-trips a 0/1 mask losslessly through an 8-bit grey PNG written atomically', async () => {
    const w = 7, h = 5;
    const m = new Uint8Array(w * h);
    for (let i = 0; i < m.length; i++) m[i] = i % 3 === 0 ? 1 : 0;
    const p = join(dir, 'masks', 'a_mask.png');
    await writeMaskPng(p, m, w, h);
    const meta = await sharp(p).metadata();
    expect(meta).toMatchObject({ format: 'png', channels: 1, depth: 'uchar' });
    const back = await readMaskPng(p);
    expect(back.width).toBe(w);
    expect(Array.from(back.data)).toEqual(Array.from(m));
    expect(readdirSync(join(dir, 'masks')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects a mask whose pixel count differs from its size', async () => {
    await expect(writeMaskPng(join(dir, 'bad_mask.png'), new Uint8Array(3), 2, 2)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
