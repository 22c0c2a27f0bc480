/**
 * The one gate for serving local files to the UI (browser mode's /files route and the
 * desktop app's bgad:// protocol). Only image and heat-map files, only under allowed roots
 * (the data folder and imported dataset/inspection folders), after resolving symlinks; and
 * the images the importer recorded, by their recorded path, even where that is a symbolic
 * link to a file elsewhere (the importer reads such links as files, so the UI must show them).
 */
import { realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import { AppError } from '../common/errors';

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.webp': 'image/webp',
  // the importer accepts GIFs too (IMAGE_FILE_EXTENSIONS)
  '.gif': 'image/gif',
};

export interface GuardOptions {
  /** Whether `path` (absolute, normalised) is an image the importer recorded in the database. */
  isImportedImage?(path: string): Promise<boolean> | boolean;
}

export interface GuardedFile {
  /** The real path (symlinks resolved) that may be read. */
  path: string;
  contentType: string;
  sizeBytes: number;
}

function isInside(child: string, root: string, platform: NodeJS.Platform): boolean {
  const [c, r] = platform === 'win32' ? [child.toLowerCase(), root.toLowerCase()] : [child, root];
  if (c === r) return true;
  const rel = relative(r, c);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function refuse(requested: string, why: string): never {
  throw new AppError('FORBIDDEN', `Refused to serve ${JSON.stringify(requested)}: ${why}.`, { subject: requested });
}

/**
 * Resolves a requested file path to a real file under one of `roots`, or throws
 * AppError FORBIDDEN (outside the roots, `..`, not an image) / NOT_FOUND (missing).
 */
export async function guardFilePath(requested: string, roots: readonly string[], platform: NodeJS.Platform = process.platform, opts: GuardOptions = {}): Promise<GuardedFile> {
  if (typeof requested !== 'string' || requested.length === 0 || requested.includes('\u0000')) refuse(String(requested), 'not a path');
  // A ".." segment is refused outright, even when it would normalise back inside a root.
  if (requested.split(/[\\/]+/).includes('..')) refuse(requested, 'paths with ".." are not served');
  if (!isAbsolute(requested)) refuse(requested, 'only absolute paths are served');
  const contentType = CONTENT_TYPES[extname(requested).toLowerCase()];
  if (!contentType) refuse(requested, 'only image and heat-map files are served');

  const lexical = resolve(requested);
  const realRoots: string[] = [];
  for (const root of roots) {
    if (!root || !isAbsolute(root)) continue;
    try {
      realRoots.push(await realpath(root));
    } catch {
      // a root that no longer exists (a moved dataset folder) simply allows nothing
      continue;
    }
  }
  // asked only where the folder rules refuse, so the usual grid costs no query
  let imported: boolean | undefined;
  const isImported = async () => (imported ??= (await opts.isImportedImage?.(lexical)) === true);
  if (!roots.some((r) => isAbsolute(r) && isInside(lexical, resolve(r), platform)) && !realRoots.some((r) => isInside(lexical, r, platform)) && !(await isImported())) {
    refuse(requested, 'it is outside the data folder and the imported folders');
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw new AppError('NOT_FOUND', `The file ${requested} does not exist.`, { subject: requested });
  }
  // Symlinks are followed, and the target must still be inside a (real) root, unless the
  // importer recorded this very path.
  if (!realRoots.some((r) => isInside(real, r, platform)) && !(await isImported())) refuse(requested, 'it links to a place outside the allowed folders');
  const st = await stat(real);
  if (!st.isFile()) refuse(requested, 'not a file');
  return { path: real, contentType, sizeBytes: st.size };
}

/**
 * `guardFilePath` over roots that may be cached for a moment: a path refused as outside them
 * is checked once more against the roots read now, so a folder inspected a moment ago (whose
 * first thumbnails the UI asks for at once) is not refused while the cache is stale.
 */
export async function guardFileWithRoots(requested: string, roots: (fresh: boolean) => Promise<readonly string[]> | readonly string[], platform: NodeJS.Platform = process.platform, opts: GuardOptions = {}): Promise<GuardedFile> {
  try {
    return await guardFilePath(requested, await roots(false), platform, opts);
  } catch (e) {
    if (!(e instanceof AppError && e.code === 'FORBIDDEN' && /outside the/.test(e.message))) throw e;
    return guardFilePath(requested, await roots(true), platform, opts);
  }
}

export function contentTypeFor(path: string): string | undefined {
  return CONTENT_TYPES[extname(path).toLowerCase()];
}
