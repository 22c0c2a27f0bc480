/**
 * Which files outside the data folder the UI may show: the roots of imported datasets and of
 * inspected folders, and the exact paths the importer recorded (e.g. a symbolic link in an
 * imported folder to a file outside it). Asked for every image the UI shows.
 */
import { isAbsolute } from 'node:path';
import { listImportRuns } from './import-runs';
import { listInspectionRuns } from './inspections';
import type { Store } from './store';

export interface FileAccess {
  /** Imported dataset roots and inspected folders (absolute), cached for two seconds (`fresh`: read now). */
  fileRoots(fresh?: boolean): string[];
  /** Whether `path` is an image the importer recorded in a dataset (exactly that path). */
  isImportedImage(path: string): boolean;
}

export function fileAccess(store: Store): FileAccess {
  let rootsCache: { atMs: number; roots: string[] } | undefined;
  // by (dataset_id, path): the images_dataset_path index answers it per dataset
  let imagePathQuery: ReturnType<Store['db']['prepare']> | undefined;
  return {
    fileRoots: (fresh = false) => {
      // cached briefly so a scrolling grid costs no queries
      const t = Date.now();
      if (!fresh && rootsCache && t - rootsCache.atMs < 2000) return rootsCache.roots;
      const roots = new Set<string>();
      for (const r of listImportRuns(store)) roots.add(r.source);
      for (const r of listInspectionRuns(store, { limit: 10_000 })) roots.add(r.source);
      rootsCache = { atMs: t, roots: [...roots].filter((p) => isAbsolute(p)) };
      return rootsCache.roots;
    },
    isImportedImage: (path) => {
      imagePathQuery ??= store.db.prepare(`SELECT 1 FROM images WHERE dataset_id IN (SELECT id FROM datasets) AND path = ? LIMIT 1`);
      return imagePathQuery.get(path) !== undefined;
    },
  };
}
