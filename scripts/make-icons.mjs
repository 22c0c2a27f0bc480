// Renders the app icon from its SVG source into the raster files electron-builder uses
// (electron-builder.yml: directories.buildResources, win.icon, linux.icon):
//   resources/icon.png            512x512, also the window icon on Linux (src-main/app/main.ts)
//   resources/icons/NxN.png       Linux icon set (AppImage, deb): 16 … 512 px
//   resources/icon.ico            Windows (NSIS installer and the .exe): 16, 24, 32, 48, 64
//                                 (32-bit BMP) and 256 px (PNG), as Windows' own icons do
//
//   node scripts/make-icons.mjs   (after editing resources/icon.svg; commit the outputs)
//
// Needs only sharp (a dependency). The ICO container is written here: a 6-byte header, one
// 16-byte entry per image, then the images.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const res = join(root, 'resources');
const svg = readFileSync(join(res, 'icon.svg'));

const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];
const ICO_SIZES = [16, 24, 32, 48, 64, 256];
const MASTER = 1024;

// One large rendering, downscaled for every size (sharper small icons than rasterising
// the SVG at 16 px directly).
const master = await sharp(svg, { density: (72 * MASTER) / 512 }).resize(MASTER, MASTER).png().toBuffer();

const render = (size) => sharp(master).resize(size, size, { kernel: 'lanczos3' });
const png = (size) => render(size).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();

/** A 32-bit BGRA DIB as stored in an ICO: BITMAPINFOHEADER (height doubled), XOR bitmap bottom-up, AND mask. */
async function dib(size) {
  const { data, info } = await render(size).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`expected RGBA, got ${info.channels} channels`);
  const maskStride = Math.ceil(size / 32) * 4;
  const header = Buffer.alloc(40);
  header.writeUInt32LE(40, 0); // biSize
  header.writeInt32LE(size, 4); // biWidth
  header.writeInt32LE(size * 2, 8); // biHeight: XOR bitmap + AND mask
  header.writeUInt16LE(1, 12); // biPlanes
  header.writeUInt16LE(32, 14); // biBitCount
  header.writeUInt32LE(0, 16); // biCompression = BI_RGB
  header.writeUInt32LE(size * size * 4 + maskStride * size, 20); // biSizeImage
  const pixels = Buffer.alloc(size * size * 4);
  const mask = Buffer.alloc(maskStride * size);
  for (let y = 0; y < size; y++) {
    const row = size - 1 - y; // bottom-up
    for (let x = 0; x < size; x++) {
      const s = (y * size + x) * 4;
      const d = (row * size + x) * 4;
      pixels[d] = data[s + 2]; // B
      pixels[d + 1] = data[s + 1]; // G
      pixels[d + 2] = data[s]; // R
      pixels[d + 3] = data[s + 3]; // A
      if (data[s + 3] === 0) mask[row * maskStride + (x >> 3)] |= 0x80 >> (x & 7);
    }
  }
  return Buffer.concat([header, pixels, mask]);
}

/** ICONDIR (reserved 0, type 1 = icon, count), one ICONDIRENTRY per image, then the images. */
function ico(images) {
  const dir = Buffer.alloc(6 + 16 * images.length);
  dir.writeUInt16LE(0, 0);
  dir.writeUInt16LE(1, 2);
  dir.writeUInt16LE(images.length, 4);
  let offset = dir.length;
  images.forEach(({ size, data }, i) => {
    const e = 6 + 16 * i;
    dir.writeUInt8(size >= 256 ? 0 : size, e); // width (0 means 256)
    dir.writeUInt8(size >= 256 ? 0 : size, e + 1); // height
    dir.writeUInt8(0, e + 2); // colours in the palette: none
    dir.writeUInt8(0, e + 3); // reserved
    dir.writeUInt16LE(1, e + 4); // colour planes
    dir.writeUInt16LE(32, e + 6); // bits per pixel
    dir.writeUInt32LE(data.length, e + 8); // bytes of the image
    dir.writeUInt32LE(offset, e + 12); // where it starts
    offset += data.length;
  });
  return Buffer.concat([dir, ...images.map((im) => im.data)]);
}

const written = [];
const write = (file, data) => {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  written.push(`${relative(root, file)} (${data.length} bytes)`);
};

write(join(res, 'icon.png'), await png(512));
for (const size of LINUX_SIZES) write(join(res, 'icons', `${size}x${size}.png`), await png(size));
const images = [];
for (const size of ICO_SIZES) images.push({ size, data: size >= 256 ? await png(size) : await dib(size) });
write(join(res, 'icon.ico'), ico(images));
console.log(`make-icons: wrote\n  ${written.join('\n  ')}`);
