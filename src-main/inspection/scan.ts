/**
 * Lists the files of an inspection: recursive, sorted, filtered by include/exclude globs on
 * the path relative to the input folder. Symbolic links are listed as files (never followed
 * into folders, so a link loop cannot hang the scan); a link that leads nowhere or to a folder
 * is then reported by the loader like any unreadable file. Devices, FIFOs and sockets (and
 * links to them) are listed too, and the loader refuses them unread with the reason (see
 * images/load readImageBytes). A folder that cannot be listed is reported, and the scan goes on.
 *
 * Never scanned: the output folder (`skipDirs`, compared as folders, so another spelling or a
 * link of the same folder is skipped too), the output folder of any other inspection (a folder
 * holding our results.jsonl), and files named like our heat maps (`*.map.png`,
 * `*.overlay.png`, `*.overlay.jpg`).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { AppError } from '../common/errors';
import { IMAGE_FILE_EXTENSIONS } from '../common/api';
import { matchesAny } from './glob';
import { isInspectionOutput, isOwnPictureName } from './output-folder';
import { RESULTS_FILE } from './results-log';

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
  /** Folders never entered (the output folder when it lies inside the input); compared by identity. */
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
  const skipIds = new Set<string>();
  for (const d of skip) {
    const id = await stat(d, { bigint: true }).then((x) => `${x.dev}:${x.ino}`, () => null);
    if (id && !id.endsWith(':0')) skipIds.add(id);
  }
  const skipped = async (dir: string): Promise<boolean> => {
    if (skip.has(dir)) return true;
    if (skipIds.size) {
      const id = await stat(dir, { bigint: true }).then((x) => `${x.dev}:${x.ino}`, () => null);
      if (id && skipIds.has(id)) return true;
    }
    return false;
  };
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
    // an earlier inspection's output folder below the input: its heat maps are not inspected
    if (dir !== root && entries.some((e) => e.name === RESULTS_FILE && e.isFile()) && (await isInspectionOutput(dir))) return;
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      const rel = toRel(p);
      if (e.isDirectory()) {
        if (await skipped(p)) continue;
        await walk(p);
      } else {
        // files, links (looked at by the loader, never followed into folders), devices, FIFOs
        // and sockets (refused by the loader with the reason)
        if (isOwnPictureName(e.name)) continue;
        if (matchesAny(rel, include) && !matchesAny(rel, exclude)) files.push({ path: p, rel });
      }
    }
  }
  await walk(root);
  return { files, unreadableDirs };
}
