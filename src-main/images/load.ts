/**
 * Image loading for training and inspection: probe (validate + hash), decode to a resized
 * CHW float tensor, and lossless mask PNG read/write.
 *
 * Decisions:
 * - Formats: JPEG, PNG, TIFF, WebP, GIF (first frame), AVIF/HEIF where sharp reads it, and
 *   BMP through our own decoder (libvips has no BMP loader). SVG and anything else is refused.
 * - EXIF orientation is applied; `ImageInfo.width/height` are the oriented (displayed) size.
 * - Greyscale is replicated to 3 channels; CMYK and ICC-tagged images are converted to sRGB.
 * - Alpha is composited on black (rgb * alpha), so transparent areas read as 0 whatever the
 *   hidden colour values are. Opaque images are unaffected.
 * - 16-bit images stay 16-bit through the resize and are scaled by 1/65535; 8-bit by 1/255.
 * - Resizing is not aspect-preserving (fit: fill), with sharp's default lanczos3 kernel.
 * - Pixel limit (default 100 megapixels) against decompression bombs -> IMAGE_TOO_LARGE.
 *   Truncated or corrupt pixel data fails (sharp `failOn: 'error'`) -> BAD_IMAGE; a missing
 *   file is NOT_FOUND.
 * - Every image file is read by `readImageBytes`: only a regular file is read (a device such as
 *   /dev/zero, a FIFO or a socket, or a link to one, is refused with BAD_IMAGE naming what it
 *   is, before it is opened), a file above the byte cap (default 1 GiB: a 100-megapixel 16-bit
 *   RGBA TIFF stored uncompressed is about 800 MB) is refused with IMAGE_TOO_LARGE before a
 *   byte is read, and the file is opened without blocking and checked again through the opened
 *   descriptor, so a FIFO put in its place after the check cannot hang the read.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, readlink, stat } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { basename } from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { AppError } from '../common/errors';
import { writeFileAtomic } from '../fs/atomic-file';
import { BmpError, decodeBmp, isBmp, readBmpHeader } from './bmp';
import { asGeometry, type InputSize } from '../bgad/geometry';

export const DEFAULT_MAX_PIXELS = 100_000_000;
/**
 * Largest image file read (bytes), checked before reading: 1 GiB. A 100-megapixel 16-bit RGBA
 * TIFF stored uncompressed is about 800 MB, so no image within the pixel limit needs more.
 */
export const DEFAULT_MAX_FILE_BYTES = 1024 ** 3;

export interface ImageInfo {
  path: string;
  /** Oriented width (after EXIF rotation). */
  width: number;
  height: number;
  /** Channels stored in the file (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK). */
  channels: number;
  bitDepth: 8 | 16;
  format: string;
  sha256: string;
  bytes: number;
}

export interface LoadedImage {
  /** 3 * height * width of the size asked for (S x S, or H x W), RGB in [0,1], planar (CHW). */
  chw: Float32Array;
  info: ImageInfo;
}

export interface ImageOptions {
  maxPixels?: number;
  /** Largest file read, in bytes (default DEFAULT_MAX_FILE_BYTES); larger files are refused unread. */
  maxBytes?: number;
}

export interface ProbeOptions extends ImageOptions {
  /** Also decode all pixel data (catches truncated or corrupt data, not just bad headers). */
  verify?: boolean;
}

const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'tiff', 'webp', 'gif', 'heif', 'bmp']);
const FORMAT_HINT = 'Use a JPEG, PNG, TIFF, WebP or BMP image.';

sharp.cache(false);

function badImage(name: string, reason: string, hint = `Re-export or re-capture the file. ${FORMAT_HINT}`, cause?: unknown): AppError {
  return new AppError('BAD_IMAGE', `Cannot read image ${name}: ${reason}.`, { hint, subject: name, cause });
}

function tooLarge(name: string, width: number, height: number, maxPixels: number): AppError {
  return new AppError(
    'IMAGE_TOO_LARGE',
    `Image ${name} is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} megapixels), above the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels.`,
    { hint: 'Downscale the image before importing it, or raise the pixel limit in the settings if the file is trusted.', subject: name },
  );
}

function sharpError(name: string, e: unknown, maxPixels: number): AppError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) {
    return new AppError('IMAGE_TOO_LARGE', `Image ${name} is larger than the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels.`, {
      hint: 'Downscale the image before importing it, or raise the pixel limit if the file is trusted.',
      subject: name,
      cause: e,
    });
  }
  if (/unsupported image format/i.test(msg)) return badImage(name, 'it is not an image file in a supported format', FORMAT_HINT, e);
  if (/premature end|truncated|end of file|unexpected end|read error|out of order/i.test(msg)) {
    return badImage(name, `the file is truncated or damaged (${msg.trim()})`, 'Copy the file again from its source; it was cut short.', e);
  }
  return badImage(name, `the image data is corrupt (${msg.trim()})`, undefined, e);
}

interface Decoded {
  buf: Buffer;
  info: ImageInfo;
  /** Set for BMP: already decoded 8-bit RGB. */
  bmp?: { width: number; height: number; rgb: Uint8Array };
}

/** A readable reason for a file that cannot be opened or read at all. */
function fileError(path: string, e: unknown): AppError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new AppError('NOT_FOUND', `Cannot read image ${path}: the file does not exist (a broken link, or it was moved or removed).`, {
      hint: 'Check the path, or re-import the folder if the file was moved.', subject: path, cause: e,
    });
  }
  if (code === 'EISDIR') return badImage(path, 'it is a folder, not a file', 'Choose an image file.', e);
  if (code === 'ELOOP') return badImage(path, 'it is a symbolic link that points to itself (a link loop)', 'Fix or remove the link.', e);
  if (code === 'EACCES' || code === 'EPERM') return badImage(path, 'permission denied', 'Check the file permissions.', e);
  if (code === 'EIO') return badImage(path, 'the disk reported an input/output error', 'Check the disk, then copy the file again.', e);
  return badImage(path, `the file cannot be read (${code ?? (e instanceof Error ? e.message : String(e))})`, 'Check the file and its permissions.', e);
}

/** What a file system object that is not a regular file is, in words. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

async function notRegular(path: string, st: Stats): Promise<AppError> {
  if (st.isDirectory()) return badImage(path, 'it is a folder, not a file', 'Choose an image file.');
  let what = `it is ${kindOf(st)}`;
  const link = await lstat(path).catch(() => null);
  if (link?.isSymbolicLink()) {
    const target = await readlink(path).catch(() => '(unknown)');
    what = `it is a symbolic link to ${target}, ${kindOf(st)}`;
  }
  return new AppError('BAD_IMAGE', `Cannot read image ${path}: ${what}, not a regular file.`, {
    hint: 'Only regular image files are read; remove or replace the link or special file.',
    subject: path,
  });
}

function tooManyBytes(path: string, size: number, maxBytes: number): AppError {
  return new AppError('IMAGE_TOO_LARGE', `Image ${path} is ${formatBytes(size)}, above the limit of ${formatBytes(maxBytes)} per file; it was not read.`, {
    hint: `Check that it is an image file. No image within the pixel limit needs more than ${formatBytes(DEFAULT_MAX_FILE_BYTES)}; if the file is a trusted image, raise the limit (bgad inspect --max-file-mb, or the maxFileBytes option).`,
    subject: path,
  });
}

function byteCap(maxBytes: number | undefined): number {
  const cap = maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!(cap >= 0) || !Number.isFinite(cap)) throw new AppError('BAD_ARGUMENT', `The file size limit must be a non-negative number of bytes, got ${maxBytes}.`);
  // one byte more than the cap must fit in a Buffer (the read checks that the file did not grow)
  return Math.min(Math.floor(cap), bufferConstants.MAX_LENGTH - 1);
}

/**
 * Reads an image file safely: stats the target (following links) and refuses anything that is
 * not a regular file, refuses a file above `maxBytes` before reading it, then reads through
 * `readVerifiedRegularFile`. Errors are AppErrors naming the file (NOT_FOUND, BAD_IMAGE,
 * IMAGE_TOO_LARGE).
 */
export async function readImageBytes(path: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
  const cap = byteCap(opts.maxBytes);
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw fileError(path, e);
  }
  if (!st.isFile()) throw await notRegular(path, st);
  if (st.size > cap) throw tooManyBytes(path, st.size, cap);
  return readVerifiedRegularFile(path, path, cap);
}

/** O_NONBLOCK where the platform has it: opening a FIFO then returns at once instead of waiting for a writer. */
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);

/**
 * The read after the check, safe on its own: opens without blocking, checks through the opened
 * descriptor that it is a regular file of at most `maxBytes`, and reads at most `maxBytes + 1`
 * bytes (so a file that grows meanwhile is refused, not read without bound).
 */
export async function readVerifiedRegularFile(path: string, name: string, maxBytes: number): Promise<Buffer> {
  const cap = byteCap(maxBytes);
  let fh;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (e) {
    throw fileError(name, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw await notRegular(name, st);
    if (st.size > cap) throw tooManyBytes(name, st.size, cap);
    let buf = Buffer.allocUnsafe(Math.min(st.size, cap) + 1);
    let total = 0;
    for (;;) {
      if (total === buf.length) {
        if (total > cap) break;
        const bigger = Buffer.allocUnsafe(Math.min(cap + 1, Math.max(64 * 1024, buf.length * 2)));
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > cap) throw tooManyBytes(name, total, cap);
    return total === buf.length ? buf : buf.subarray(0, total);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw fileError(name, e);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readImageFile(path: string, maxBytes?: number): Promise<Buffer> {
  return readImageBytes(path, { maxBytes });
}

async function inspect(buf: Buffer, name: string, maxPixels: number, decodeBmpPixels: boolean): Promise<Decoded> {
  if (buf.length === 0) throw badImage(name, 'the file is empty (0 bytes)', 'Copy the file again from its source.');
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const base = { path: name, sha256, bytes: buf.length };
  if (isBmp(buf)) {
    try {
      const h = readBmpHeader(buf);
      if (h.width * h.height > maxPixels) throw tooLarge(name, h.width, h.height, maxPixels);
      const bmp = decodeBmpPixels ? decodeBmp(buf) : undefined;
      return { buf, bmp, info: { ...base, width: h.width, height: h.height, channels: h.isGrey ? 1 : 3, bitDepth: 8, format: 'bmp' } };
    } catch (e) {
      if (e instanceof BmpError) throw badImage(name, e.message, 'Save the image as PNG or as an uncompressed 24-bit BMP.', e);
      throw e;
    }
  }
  let meta: Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false, failOn: 'error' }).metadata();
  } catch (e) {
    throw sharpError(name, e, maxPixels);
  }
  const format = meta.format ?? 'unknown';
  if (!ACCEPTED_FORMATS.has(format)) throw badImage(name, `${format.toUpperCase()} files are not supported`, FORMAT_HINT);
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) throw badImage(name, 'the header has no valid size');
  if (w * h > maxPixels) throw tooLarge(name, w, h, maxPixels);
  const depth = meta.depth ?? 'uchar';
  if (depth !== 'uchar' && depth !== 'char' && depth !== 'ushort') {
    throw badImage(name, `${depth} samples are not supported (8 and 16-bit integer images are)`, 'Convert the image to 8 or 16-bit integer samples.');
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    buf,
    info: {
      ...base,
      width: swap ? h : w,
      height: swap ? w : h,
      channels: meta.channels ?? 3,
      bitDepth: depth === 'ushort' ? 16 : 8,
      format,
    },
  };
}

/**
 * Validates an image file (exists, non-empty, decodable header, pixel limit) and hashes it.
 * With `verify`, the pixel data is decoded too (about the cost of a load).
 */
export async function probeImage(path: string, opts: ProbeOptions = {}): Promise<ImageInfo> {
  const buf = await readImageFile(path, opts.maxBytes);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (opts.verify) return (await decodeToTensor(buf, path, 8, maxPixels)).info;
  return (await inspect(buf, path, maxPixels, false)).info;
}

/**
 * An image's displayed height / width, from its header only (cheap: the pixels are not decoded):
 * what an aspect model's input geometry is chosen from (bgad/geometry.ts). Files sharp cannot
 * read the header of (BMP) are probed in full; an unreadable file throws as `probeImage`.
 */
export async function readImageAspect(path: string, opts: ImageOptions = {}): Promise<number> {
  try {
    const meta = await sharp(path, { limitInputPixels: false }).metadata();
    const w = meta.width ?? 0, h = meta.height ?? 0;
    if (w > 0 && h > 0 && ACCEPTED_FORMATS.has(meta.format ?? '')) return (meta.orientation ?? 1) >= 5 ? w / h : h / w;
  } catch {
    // not a header sharp reads (BMP, or a damaged file): the full probe says which
  }
  const info = await probeImage(path, opts);
  return info.height / info.width;
}

export async function loadImageTensor(path: string, sizePx: InputSize, opts: ImageOptions = {}): Promise<LoadedImage> {
  const buf = await readImageFile(path, opts.maxBytes);
  return decodeToTensor(buf, path, sizePx, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
}

export async function loadImageTensorFromBuffer(buf: Buffer, sizePx: InputSize, name = '(buffer)', opts: ImageOptions = {}): Promise<LoadedImage> {
  return decodeToTensor(buf, name, sizePx, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
}

async function decodeToTensor(buf: Buffer, name: string, size: InputSize, maxPixels: number): Promise<LoadedImage> {
  const { height: outH, width: outW } = asGeometry(size);
  const side = (v: number) => Number.isInteger(v) && v >= 1 && v <= 8192;
  if (!side(outH) || !side(outW)) throw new AppError('BAD_ARGUMENT', `Invalid model input size ${outW}x${outH} px.`);
  const d = await inspect(buf, name, maxPixels, true);
  const is16 = d.info.bitDepth === 16;
  let pipeline: Sharp;
  if (d.bmp) {
    pipeline = sharp(d.bmp.rgb, { raw: { width: d.bmp.width, height: d.bmp.height, channels: 3 } });
  } else {
    pipeline = sharp(buf, { limitInputPixels: maxPixels, failOn: 'error' }).autoOrient();
  }
  pipeline = pipeline.resize(outW, outH, { fit: 'fill' }).toColourspace(is16 ? 'rgb16' : 'srgb');
  let data: Buffer;
  let channels: number;
  try {
    const out = await pipeline.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    data = out.data;
    channels = out.info.channels;
    if (out.info.width !== outW || out.info.height !== outH) throw new Error(`unexpected output size ${out.info.width}x${out.info.height}`);
  } catch (e) {
    throw sharpError(name, e, maxPixels);
  }
  const plane = outW * outH;
  const src: Uint8Array | Uint16Array = is16 ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : data;
  if (src.length !== plane * channels) throw badImage(name, `decoder returned ${src.length} samples for ${channels} channels`);
  const scale = is16 ? 1 / 65535 : 1 / 255;
  const chw = new Float32Array(3 * plane);
  const hasAlpha = channels === 4 || channels === 2;
  const colour = channels >= 3;
  for (let i = 0; i < plane; i++) {
    const s = i * channels;
    const a = hasAlpha ? src[s + channels - 1]! * scale : 1;
    const r = src[s]! * scale * a;
    chw[i] = r;
    chw[plane + i] = colour ? src[s + 1]! * scale * a : r;
    chw[2 * plane + i] = colour ? src[s + 2]! * scale * a : r;
  }
  return { chw, info: d.info };
}

/** Reads a mask image; any pixel >= 128 (of 255) is defect (1), else 0. */
export async function readMaskPng(path: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const buf = await readImageFile(path);
  if (buf.length === 0) throw badImage(path, 'the mask file is empty (0 bytes)');
  try {
    const { data, info } = await sharp(buf, { failOn: 'error', limitInputPixels: DEFAULT_MAX_PIXELS })
      .autoOrient()
      .flatten({ background: '#000000' })
      .toColourspace('b-w')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const out = new Uint8Array(n);
    const c = info.channels;
    for (let i = 0; i < n; i++) out[i] = data[i * c]! >= 128 ? 1 : 0;
    return { data: out, width: info.width, height: info.height };
  } catch (e) {
    throw sharpError(path, e, DEFAULT_MAX_PIXELS);
  }
}

/** Writes a mask (nonzero = defect) as a lossless 8-bit grey PNG of 0/255, atomically. */
export async function writeMaskPng(path: string, data: Uint8Array, width: number, height: number): Promise<void> {
  if (data.length !== width * height) {
    throw new AppError('BAD_ARGUMENT', `Mask for ${basename(path)} has ${data.length} pixels, expected ${width}x${height}.`);
  }
  const grey = Buffer.alloc(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = data[i] ? 255 : 0;
  const png = await sharp(grey, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
  await writeFileAtomic(path, png);
}
