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
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { AppError } from '../common/errors';
import { BmpError, decodeBmp, isBmp, readBmpHeader } from './bmp';

export const DEFAULT_MAX_PIXELS = 100_000_000;

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
  /** 3 * size * size, RGB in [0,1], planar (CHW). */
  chw: Float32Array;
  info: ImageInfo;
}

export interface ImageOptions {
  maxPixels?: number;
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

async function readImageFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('NOT_FOUND', `Image ${path} does not exist.`, { hint: 'Check the path, or re-import the folder if the file was moved.', subject: path, cause: e });
    if (code === 'EISDIR') throw badImage(path, 'it is a folder, not a file', 'Choose an image file.', e);
    throw badImage(path, `the file cannot be read (${code ?? String(e)})`, 'Check the file permissions.', e);
  }
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
  const buf = await readImageFile(path);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (opts.verify) return (await decodeToTensor(buf, path, 8, maxPixels)).info;
  return (await inspect(buf, path, maxPixels, false)).info;
}

export async function loadImageTensor(path: string, sizePx: number, opts: ImageOptions = {}): Promise<LoadedImage> {
  const buf = await readImageFile(path);
  return decodeToTensor(buf, path, sizePx, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
}

export async function loadImageTensorFromBuffer(buf: Buffer, sizePx: number, name = '(buffer)', opts: ImageOptions = {}): Promise<LoadedImage> {
  return decodeToTensor(buf, name, sizePx, opts.maxPixels ?? DEFAULT_MAX_PIXELS);
}

async function decodeToTensor(buf: Buffer, name: string, sizePx: number, maxPixels: number): Promise<LoadedImage> {
  if (!Number.isInteger(sizePx) || sizePx < 1 || sizePx > 8192) throw new AppError('BAD_ARGUMENT', `Invalid model input size ${sizePx}px.`);
  const d = await inspect(buf, name, maxPixels, true);
  const is16 = d.info.bitDepth === 16;
  let pipeline: Sharp;
  if (d.bmp) {
    pipeline = sharp(d.bmp.rgb, { raw: { width: d.bmp.width, height: d.bmp.height, channels: 3 } });
  } else {
    pipeline = sharp(buf, { limitInputPixels: maxPixels, failOn: 'error' }).autoOrient();
  }
  pipeline = pipeline.resize(sizePx, sizePx, { fit: 'fill' }).toColourspace(is16 ? 'rgb16' : 'srgb');
  let data: Buffer;
  let channels: number;
  try {
    const out = await pipeline.raw({ depth: is16 ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    data = out.data;
    channels = out.info.channels;
    if (out.info.width !== sizePx || out.info.height !== sizePx) throw new Error(`unexpected output size ${out.info.width}x${out.info.height}`);
  } catch (e) {
    throw sharpError(name, e, maxPixels);
  }
  const plane = sizePx * sizePx;
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

/** Writes via a temp file in the same folder and renames it into place. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new AppError('DISK_FULL', `The disk is full while writing ${path}.`, { hint: 'Free some disk space and try again.', subject: path, cause: e });
    }
    throw e;
  }
}
