/**
 * Lists the files of an inspection: recursive, sorted, filtered by include/exclude globs on
 * the path relative to the input folder. Symbolic links are listed as files (never followed
 * into folders, so a link loop cannot hang the scan); a link that leads nowhere or to a folder
 * is then reported by the loader like any unreadable file. A folder that cannot be listed is
 * reported, and the scan goes on.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { AppError } from '../common/errors';
import { IMAGE_FILE_EXTENSIONS } from '../common/api';
import { matchesAny } from './glob';

/** File types inspected when no `include` is given. */
export const IMAGE_EXTENSIONS: readonly string[] = IMAGE_FILE_EXTENSIONS;
export const DEFAULT_INCLUDE = [`*.{${IMAGE_EXTENSIONS.join(',')}}`];

export interface ScannedFile {
  /** Absolute path. */
  path: string;
  /** Relative to the input folder, `/`-separated. */
  rel: string;
}

export interface ScanResult {
  files: ScannedFile[];
  /** Folders that could not be listed, with the reason. */
  unreadableDirs: { path: string; rel: string; reason: string }[];
}

export interface ScanOptions {
  include?: readonly string[];
  exclude?: readonly string[];
  /** Folders never entered (the output folder when it lies inside the input). */
  skipDirs?: readonly string[];
}

export async function scanInputFolder(input: string, opts: ScanOptions = {}): Promise<ScanResult> {
  const root = resolve(input);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    throw new AppError('NOT_FOUND', `The input folder ${root} does not exist.`, { subject: root, hint: 'Check the --input path.', cause: e });
  }
  if (!st.isDirectory()) throw new AppError('BAD_ARGUMENT', `The input ${root} is not a folder.`, { subject: root, hint: 'Give the folder that holds the images.' });
  const include = opts.include?.length ? opts.include : DEFAULT_INCLUDE;
  const exclude = opts.exclude ?? [];
  const skip = new Set((opts.skipDirs ?? []).map((d) => resolve(d)));
  const files: ScannedFile[] = [];
  const unreadableDirs: ScanResult['unreadableDirs'] = [];
  const toRel = (p: string) => relative(root, p).split(sep).join('/');

  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      unreadableDirs.push({ path: dir, rel: toRel(dir), reason: `the folder cannot be listed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      const rel = toRel(p);
      if (e.isDirectory()) {
        if (skip.has(p)) continue;
        await walk(p);
      } else if (e.isFile() || e.isSymbolicLink()) {
        if (matchesAny(rel, include) && !matchesAny(rel, exclude)) files.push({ path: p, rel });
      }
    }
  }
  await walk(root);
  return { files, unreadableDirs };
}
