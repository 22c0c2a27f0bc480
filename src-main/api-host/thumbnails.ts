/**
 * Small previews for image grids: `?thumb=N` on the files route (browser mode and bgad://)
 * answers a JPEG whose longer side is at most N px, cached on disk under the data folder
 * keyed by (real path, size, mtime, px). sharp does the work on libuv's thread pool, so the
 * event loop stays free.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { THUMB_SIZES_PX } from '../common/api';
import { AppError } from '../common/errors';
import { writeFileAtomic } from '../fs/atomic-file';
import type { GuardedFile } from './path-guard';

export function parseThumbSize(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  if (!(THUMB_SIZES_PX as readonly number[]).includes(n)) {
    throw new AppError('BAD_ARGUMENT', `thumb must be one of ${THUMB_SIZES_PX.join(', ')} (pixels), got "${value}".`);
  }
  return n;
}

/** The JPEG preview of a guarded file, from the cache folder when fresh. */
export async function thumbnail(file: GuardedFile, sizePx: number, cacheDir: string): Promise<Uint8Array> {
  const st = await stat(file.path);
  const key = createHash('sha256').update(`${file.path}\0${st.size}\0${st.mtimeMs}\0${sizePx}`).digest('hex');
  const cached = join(cacheDir, key.slice(0, 2), `${key}.jpg`);
  try {
    return await readFile(cached);
  } catch {
    // not cached yet: render below
  }
  let bytes: Buffer;
  try {
    bytes = await sharp(file.path, { failOn: 'none', limitInputPixels: 2 ** 28 })
      .rotate()
      .resize(sizePx, sizePx, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#000000' })
      .jpeg({ quality: 82 })
      .toBuffer();
  } catch (e) {
    throw new AppError('BAD_IMAGE', `Cannot make a preview of ${file.path}: ${(e as Error).message}`, { subject: file.path, cause: e });
  }
  try {
    await writeFileAtomic(cached, bytes);
  } catch (e) {
    console.warn(`bgad: could not cache a preview in ${cacheDir}: ${(e as Error).message}`);
  }
  return bytes;
}
