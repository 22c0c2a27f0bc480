/**
 * Watches an input folder recursively (chokidar) and hands on each new or replaced file once it
 * is complete (settle.ts), with the file rules of `bgad inspect` (scan.ts): include/exclude
 * globs on the relative path, never the output folder (nor the --move-to folder) inside the
 * input, never another inspection's output folder, never files named like our heat maps.
 *
 * On start, the watcher is ready first, then the folder is scanned, so a file that arrives
 * meanwhile is seen by one or both (the station drops the second sight). Symbolic links are
 * not followed into folders.
 */
import { watch, type FSWatcher } from 'chokidar';
import { realpath } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { matchesAny } from '../inspection/glob';
import { isInspectionOutput, isOwnPictureName } from '../inspection/output-folder';
import { DEFAULT_INCLUDE, scanInputFolder, type ScannedFile } from '../inspection/scan';
import { Settler } from './settle';

export interface FolderWatcherOptions {
  input: string;
  include?: readonly string[];
  exclude?: readonly string[];
  /** Folders never entered (the output and --move-to folders). */
  skipDirs?: readonly string[];
  settleMs: number;
  usePolling?: boolean;
  /** A complete file, with the time it was found complete (ms since the epoch). */
  onFile: (file: ScannedFile, settledAt: number) => void;
  /** Folders the first scan could not list. */
  onUnreadableDir?: (d: { path: string; rel: string; reason: string }) => void;
  onError: (e: unknown) => void;
}

const isInside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);

export class FolderWatcher {
  private watcher: FSWatcher | null = null;
  private readonly settler: Settler;
  private readonly root: string;
  private readonly include: readonly string[];
  private readonly exclude: readonly string[];
  private skip: string[] = [];
  /** Folders found to be another inspection's output, with when it was looked at. */
  private readonly outputDirs = new Map<string, { at: number; is: Promise<boolean> }>();
  private closed = false;

  private constructor(private readonly o: FolderWatcherOptions) {
    this.root = resolve(o.input);
    this.include = o.include?.length ? o.include : DEFAULT_INCLUDE;
    this.exclude = o.exclude ?? [];
    this.settler = new Settler(o.settleMs, (path, at) => this.settled(path, at));
  }

  /** Starts watching; resolves once the watcher is ready and the folder's files are being settled. */
  static async start(o: FolderWatcherOptions): Promise<FolderWatcher> {
    const w = new FolderWatcher(o);
    await w.begin();
    return w;
  }

  /** Files seen and not yet complete. */
  get settling(): number {
    return this.settler.size;
  }

  /** Looks at a file again (e.g. changed while it was being inspected). */
  recheck(path: string): void {
    this.settler.touch(path);
  }

  private async begin(): Promise<void> {
    for (const d of this.o.skipDirs ?? []) {
      const abs = resolve(d);
      this.skip.push(abs);
      const real = await realpath(abs).catch(() => null);
      if (real && real !== abs) this.skip.push(real);
    }
    const realRoot = await realpath(this.root).catch(() => this.root);
    const ignored = (p: string) => {
      const abs = resolve(p);
      if (this.skip.some((d) => isInside(abs, d))) return true;
      // the same folder reached through the input's real path
      if (realRoot !== this.root && isInside(abs, realRoot)) {
        const viaRoot = resolve(this.root, relative(realRoot, abs));
        if (this.skip.some((d) => isInside(viaRoot, d))) return true;
      }
      return false;
    };
    const watcher = watch(this.root, {
      ignored,
      ignoreInitial: true,
      followSymlinks: false,
      usePolling: this.o.usePolling ?? false,
      interval: 500,
      ignorePermissionErrors: true,
      awaitWriteFinish: false,
    });
    this.watcher = watcher;
    watcher.on('add', (p) => this.seen(p));
    watcher.on('change', (p) => this.seen(p));
    watcher.on('unlink', (p) => this.settler.forget(resolve(p)));
    watcher.on('error', (e) => this.o.onError(e));
    await new Promise<void>((res) => watcher.once('ready', () => res()));
    const scan = await scanInputFolder(this.root, { include: this.include, exclude: this.exclude, skipDirs: this.o.skipDirs });
    for (const d of scan.unreadableDirs) this.o.onUnreadableDir?.(d);
    for (const f of scan.files) this.settler.touch(f.path);
  }

  private rel(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  private seen(p: string): void {
    if (this.closed) return;
    const path = resolve(p);
    const rel = this.rel(path);
    if (!rel || rel.startsWith('..') || isOwnPictureName(basename(path))) return;
    if (!matchesAny(rel, this.include) || matchesAny(rel, this.exclude)) return;
    this.settler.touch(path);
  }

  /** Whether a folder between the input and the file is another inspection's output folder. */
  private async inOtherOutput(path: string): Promise<boolean> {
    for (let d = dirname(path); isInside(d, this.root) && d !== this.root; d = dirname(d)) {
      let hit = this.outputDirs.get(d);
      if (!hit || Date.now() - hit.at > 10_000) {
        hit = { at: Date.now(), is: isInspectionOutput(d) };
        this.outputDirs.set(d, hit);
      }
      if (await hit.is) return true;
    }
    return false;
  }

  private settled(path: string, at: number): void {
    if (this.closed) return;
    this.inOtherOutput(path).then(
      (skip) => {
        if (!skip && !this.closed) this.o.onFile({ path, rel: this.rel(path) }, at);
      },
      (e) => this.o.onError(e),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.settler.close();
    await this.watcher?.close();
  }
}
