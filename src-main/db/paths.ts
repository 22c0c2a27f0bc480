/**
 * Where the data folder is and what lives in it (and, for the command line, where the
 * backbone and feature cache is). The folder holds one SQLite file plus folders of bulky
 * files that rows of the database reference by relative path.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { AppError } from '../common/errors';
import { storageError } from './storage-errors';

export interface ResolveDataDirOptions {
  /** An explicit folder (`--data-dir`, a setting); wins over everything else. */
  dataDir?: string;
  /** Environment to read `BGAD_DATA_DIR`, `XDG_DATA_HOME`, `APPDATA` from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Operating system (default process.platform). */
  platform?: NodeJS.Platform;
  /** Home folder (default os.homedir()). */
  home?: string;
}

export interface DataLayout {
  root: string;
  /** The SQLite database. */
  dbFile: string;
  /** Mask PNGs, `masks/<datasetId>/<file>.png`. */
  masksDir: string;
  /** Trained model bundles. */
  bundlesDir: string;
  /** Inspection heat maps. */
  heatmapsDir: string;
  /** Backbone feature cache. */
  featuresDir: string;
  /** Database backups. */
  backupsDir: string;
}

export const DB_FILE_NAME = 'bgad.sqlite';

/** The default data folder for this OS, ignoring any override. */
export function defaultDataDir(opts: Omit<ResolveDataDirOptions, 'dataDir'> = {}): string {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const home = opts.home ?? homedir();
  if (platform === 'win32') {
    const appData = env.APPDATA && env.APPDATA.length > 0 ? env.APPDATA : join(home, 'AppData', 'Roaming');
    return join(appData, 'BGAD Inspector');
  }
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'BGAD Inspector');
  const xdg = env.XDG_DATA_HOME;
  // XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
  const base = xdg && xdg.startsWith('/') ? xdg : join(home, '.local', 'share');
  return join(base, 'bgad-inspector');
}

/** The data folder: `dataDir` option, else `BGAD_DATA_DIR`, else the OS default. Absolute. */
export function resolveDataDir(opts: ResolveDataDirOptions = {}): string {
  const env = opts.env ?? process.env;
  if (opts.dataDir !== undefined) {
    if (opts.dataDir.trim() === '') throw new AppError('BAD_ARGUMENT', 'The data folder option is empty.', { hint: 'Pass a folder path to --data-dir, or leave it out to use the default.' });
    return resolve(opts.dataDir);
  }
  const fromEnv = env.BGAD_DATA_DIR;
  if (fromEnv && fromEnv.trim() !== '') return resolve(fromEnv);
  return defaultDataDir(opts);
}

/**
 * The backbone and feature cache of the command line when no folder is given (`--cache-dir`;
 * the app uses its data folder): `BGAD_CACHE_DIR`, else `.cache` in the working folder.
 */
export function defaultCacheRoot(): string {
  return process.env.BGAD_CACHE_DIR ?? join(process.cwd(), '.cache');
}

export function dataLayout(root: string): DataLayout {
  const r = resolve(root);
  return {
    root: r,
    dbFile: join(r, DB_FILE_NAME),
    masksDir: join(r, 'masks'),
    bundlesDir: join(r, 'bundles'),
    heatmapsDir: join(r, 'heatmaps'),
    featuresDir: join(r, 'features'),
    backupsDir: join(r, 'backups'),
  };
}

/** Creates the data folder and its sub-folders when missing. */
export function ensureDataLayout(layout: DataLayout): void {
  try {
    for (const d of [layout.root, layout.masksDir, layout.bundlesDir, layout.heatmapsDir, layout.featuresDir, layout.backupsDir]) {
      mkdirSync(d, { recursive: true });
    }
  } catch (e) {
    throw (
      storageError(e, {
        path: layout.root,
        action: 'create the data folder',
        dataDir: layout.root,
        readOnlyHint: 'Choose a writable folder with --data-dir or BGAD_DATA_DIR, or make this one writable. Reading an existing data folder still works: "bgad datasets", "bgad db info", "bgad db check", "bgad db backup --out FILE".',
      }) ??
      new AppError('BAD_ARGUMENT', `Cannot create the data folder ${layout.root}: ${(e as Error).message}`, {
        hint: 'Choose a writable folder with --data-dir or BGAD_DATA_DIR.',
        subject: layout.root,
        cause: e,
      })
    );
  }
}
