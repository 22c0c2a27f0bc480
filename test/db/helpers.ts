/** Shared helpers for data-layer tests: temp data folders, tiny image fixtures, child processes. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { openStore, type OpenStoreOptions, type Store } from '../../src-main/db/store';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function tempDir(prefix = 'bgad-db-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** A store in a fresh temp data folder. */
export function tempStore(opts: OpenStoreOptions = {}): Store & { dir: string } {
  const dir = tempDir();
  const store = openStore({ dataDir: dir, ...opts });
  return { ...store, dir };
}

/** Deterministic noise image (grey PNG), unique per seed. */
export async function noisePng(seed: number, width = 24, height = 16): Promise<Buffer> {
  const px = new Uint8Array(width * height);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < px.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    px[i] = s & 255;
  }
  return sharp(px, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

/** A 0/255 mask PNG with a filled rectangle. */
export async function rectMaskPng(width: number, height: number, rect: { x: number; y: number; w: number; h: number }): Promise<Buffer> {
  const px = new Uint8Array(width * height);
  for (let y = rect.y; y < rect.y + rect.h; y++) for (let x = rect.x; x < rect.x + rect.w; x++) px[y * width + x] = 255;
  return sharp(px, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

export async function writeNoiseImages(dir: string, count: number, opts: { seed0?: number; width?: number; height?: number; prefix?: string } = {}): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const f = join(dir, `${opts.prefix ?? 'img'}_${String(i).padStart(4, '0')}.png`);
    writeFileSync(f, await noisePng((opts.seed0 ?? 1) + i, opts.width, opts.height));
    files.push(f);
  }
  return files;
}

export function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

export const SHARED_MAGNETIC_TILE = resolve(REPO_ROOT, '..', 'shared', 'datasets', 'magnetic_tile');
export const hasMagneticTile = existsSync(join(SHARED_MAGNETIC_TILE, 'train', 'good'));
