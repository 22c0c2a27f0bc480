/**
 * --move-to: an inspected file goes to `<dir>/<verdict>/<its sub-path>`, never over another
 * file (a taken name gets `-1`, `-2`, ... before its extension). The move is a hard link then
 * an unlink of the source (atomic, and no clobbering), else (another disk, no hard links) an
 * exclusive copy, flushed, then the unlink. A move interrupted between the two steps is
 * finished on the next try: a target that already is the same file is taken as it is.
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import type { Verdict } from '../common/records';

function candidate(dest: string, n: number): string {
  if (n === 0) return dest;
  const ext = extname(dest);
  return `${dest.slice(0, dest.length - ext.length)}-${n}${ext}`;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a, { bigint: true }), stat(b, { bigint: true })]).catch(() => [null, null]);
  return !!x && !!y && x.dev === y.dev && x.ino === y.ino && x.ino !== 0n;
}

/** Moves `src` (relative path `rel` below the input) into `<moveTo>/<verdict>/`; returns where it went. */
export async function moveInspected(src: string, rel: string, moveTo: string, verdict: Verdict): Promise<string> {
  const safe = rel.split('/').filter((p) => p && p !== '.' && p !== '..');
  const dest = join(moveTo, verdict, ...safe);
  await mkdir(dirname(dest), { recursive: true });
  let viaCopy = false;
  for (let n = 0; n < 10_000; n++) {
    const to = candidate(dest, n);
    if (!viaCopy) {
      try {
        await link(src, to);
        await unlink(src);
        return to;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          if (await sameFile(src, to)) {
            await unlink(src);
            return to;
          }
          continue;
        }
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw e;
        viaCopy = true;
      }
    }
    try {
      await copyFile(src, to, constants.COPYFILE_EXCL);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    const fh = await open(to, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(src);
    return to;
  }
  throw new Error(`no free name for ${dest}`);
}
