/**
 * A small decoder for uncompressed Windows bitmaps, because libvips (sharp) does not read BMP.
 * Supported: BITMAPCOREHEADER/INFOHEADER/V4/V5, 8-bit paletted, 24-bit BGR, 16/32-bit with
 * BI_RGB or BI_BITFIELDS masks, bottom-up and top-down rows. Alpha is ignored (BMP alpha is
 * rarely meaningful). RLE, 1/4-bit and embedded JPEG/PNG are rejected with a reason.
 */

export interface BmpHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  /** True when the palette of an 8-bit file is all grey. */
  isGrey: boolean;
}

export class BmpError extends Error {}

export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

interface Parsed extends BmpHeader {
  dataOffset: number;
  topDown: boolean;
  compression: number;
  masks: [number, number, number] | null;
  palette: Uint8Array | null; // RGB triples
}

function parse(buf: Uint8Array): Parsed {
  if (buf.length < 26) throw new BmpError('the BMP header is truncated');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataOffset = dv.getUint32(10, true);
  const dibSize = dv.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  let colorsUsed = 0;
  let paletteEntrySize = 4;
  if (dibSize === 12) {
    width = dv.getUint16(18, true);
    height = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
    paletteEntrySize = 3;
  } else if (dibSize >= 40) {
    if (buf.length < 14 + 40) throw new BmpError('the BMP header is truncated');
    width = dv.getInt32(18, true);
    height = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colorsUsed = dv.getUint32(46, true);
  } else {
    throw new BmpError(`unknown BMP header size ${dibSize}`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0) throw new BmpError(`invalid BMP dimensions ${width}x${height}`);
  if (compression !== 0 && compression !== 3 && compression !== 6) {
    const names: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'embedded JPEG', 5: 'embedded PNG' };
    throw new BmpError(`compressed BMP (${names[compression] ?? `method ${compression}`}) is not supported`);
  }
  if (![8, 16, 24, 32].includes(bpp)) throw new BmpError(`${bpp}-bit BMP is not supported (8, 16, 24 and 32-bit are)`);

  let masks: [number, number, number] | null = null;
  if (compression === 3 || compression === 6) {
    if (bpp !== 16 && bpp !== 32) throw new BmpError('BI_BITFIELDS is only valid for 16 and 32-bit BMP');
    const at = 14 + 40;
    if (buf.length < at + 12) throw new BmpError('the BMP colour masks are truncated');
    masks = [dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true)];
  } else if (bpp === 16) {
    masks = [0x7c00, 0x03e0, 0x001f];
  } else if (bpp === 32) {
    masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  }

  let palette: Uint8Array | null = null;
  let isGrey = false;
  if (bpp === 8) {
    const n = colorsUsed > 0 ? Math.min(colorsUsed, 256) : 256;
    const at = 14 + dibSize + (compression === 3 ? 12 : compression === 6 ? 16 : 0);
    palette = new Uint8Array(256 * 3);
    isGrey = true;
    for (let i = 0; i < n; i++) {
      const p = at + i * paletteEntrySize;
      if (p + 3 > buf.length) throw new BmpError('the BMP palette is truncated');
      const b = buf[p]!, g = buf[p + 1]!, r = buf[p + 2]!;
      palette[i * 3] = r; palette[i * 3 + 1] = g; palette[i * 3 + 2] = b;
      if (r !== g || g !== b) isGrey = false;
    }
  }
  return { width, height, bitsPerPixel: bpp, isGrey, dataOffset, topDown, compression, masks, palette };
}

export function readBmpHeader(buf: Uint8Array): BmpHeader {
  const p = parse(buf);
  return { width: p.width, height: p.height, bitsPerPixel: p.bitsPerPixel, isGrey: p.isGrey };
}

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/** Decodes to interleaved 8-bit RGB, top row first. */
export function decodeBmp(buf: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const p = parse(buf);
  const { width, height, bitsPerPixel: bpp } = p;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (p.dataOffset + stride * (height - 1) + Math.ceil((width * bpp) / 8) > buf.length) {
    throw new BmpError(`the pixel data is truncated (expected ${stride * height} bytes after offset ${p.dataOffset}, file has ${buf.length} bytes)`);
  }
  const rgb = new Uint8Array(width * height * 3);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ch = p.masks?.map(maskShift);
  for (let y = 0; y < height; y++) {
    const srcRow = p.dataOffset + (p.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (bpp === 24) {
        const s = srcRow + x * 3;
        rgb[o] = buf[s + 2]!; rgb[o + 1] = buf[s + 1]!; rgb[o + 2] = buf[s]!;
      } else if (bpp === 8) {
        const idx = buf[srcRow + x]!;
        rgb[o] = p.palette![idx * 3]!; rgb[o + 1] = p.palette![idx * 3 + 1]!; rgb[o + 2] = p.palette![idx * 3 + 2]!;
      } else {
        const v = bpp === 32 ? dv.getUint32(srcRow + x * 4, true) : dv.getUint16(srcRow + x * 2, true);
        for (let c = 0; c < 3; c++) {
          const { shift, max } = ch![c]!;
          rgb[o + c] = max === 0 ? 0 : Math.round((((v & p.masks![c]!) >>> shift) * 255) / max);
        }
      }
    }
  }
  return { width, height, rgb };
}

/** Encodes 8-bit RGB as a 24-bit bottom-up BMP (used by tests and fixtures). */
export function encodeBmp24(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const stride = Math.ceil((width * 24) / 32) * 4;
  const size = 54 + stride * height;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = 0x42; out[1] = 0x4d;
  dv.setUint32(2, size, true);
  dv.setUint32(10, 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, width, true);
  dv.setInt32(22, height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, 24, true);
  dv.setUint32(34, stride * height, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      out[row + x * 3] = rgb[s + 2]!; out[row + x * 3 + 1] = rgb[s + 1]!; out[row + x * 3 + 2] = rgb[s]!;
    }
  }
  return out;
}
