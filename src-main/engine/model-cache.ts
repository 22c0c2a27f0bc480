/**
 * The models the engine keeps open between jobs (the `inspect-image` job: the app's single
 * image and /v1/inspect). Opening a model (bundle, backbone session, scoring head) costs far
 * more than scoring one image, so the last few models used stay open, least recently used
 * evicted first, each disposed once no job uses it any more (at eviction, or when the engine
 * shuts down).
 *
 * An entry is keyed by the bundle file's path and its identity on disk (size, mtime, ctime,
 * inode) plus the runtime options it was opened with: a bundle file rewritten in place (the
 * app's threshold change writes a new file atomically) has a new key, so it is opened again
 * (its older entries are dropped at once) and its threshold reaches the verdict at once.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openInspectionModel, type InspectionModel, type RuntimeOptions } from '../model/scorer';

export interface ModelCacheStats {
  /** Models opened (cache misses). */
  opens: number;
  /** Jobs served by a model already open. */
  hits: number;
  /** Models disposed (evicted, replaced by a changed file, or at shutdown). */
  disposed: number;
  /** Models open now. */
  open: number;
}

interface Entry {
  key: string;
  file: string;
  model: Promise<InspectionModel>;
  refs: number;
  /** Out of the cache: disposed when its last user is done. */
  dropped: boolean;
}

type Opener = (file: string, opts: RuntimeOptions) => Promise<InspectionModel>;

export class ModelCache {
  /** In use order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  readonly #disposing = new Set<Promise<void>>();
  #opens = 0;
  #hits = 0;
  #disposed = 0;

  constructor(readonly capacity = 2, private readonly open: Opener = (file, opts) => openInspectionModel(file, opts)) {}

  /** The cache key of a bundle file as it is on disk now, with the runtime options. */
  static async keyOf(file: string, opts: RuntimeOptions): Promise<string> {
    const s = await stat(file, { bigint: true });
    return JSON.stringify([file, String(s.size), String(s.mtimeNs), String(s.ctimeNs), String(s.ino), opts.threads ?? null, opts.executionProvider ?? 'cpu', opts.spin ?? false, opts.cacheDir ?? null]);
  }

  /** Runs `fn` with the model of `bundle` (opened, or taken from the cache), kept open while it runs. */
  async use<T>(bundle: string, opts: RuntimeOptions, fn: (model: InspectionModel) => Promise<T>): Promise<T> {
    const file = resolve(bundle);
    const key = await ModelCache.keyOf(file, opts);
    const entry = this.#acquire(key, file, opts);
    try {
      return await fn(await entry.model);
    } finally {
      entry.refs--;
      if (entry.dropped && entry.refs === 0) this.#dispose(entry);
    }
  }

  #acquire(key: string, file: string, opts: RuntimeOptions): Entry {
    let entry = this.#entries.get(key);
    if (entry) {
      this.#hits++;
      this.#entries.delete(key); // most recently used: to the end
    } else {
      this.#opens++;
      // the same file with other bytes (or options) than a cached entry: the old one is stale
      for (const e of this.#entries.values()) if (e.file === file) this.#drop(e);
      const model = this.open(file, opts);
      entry = { key, file, model, refs: 0, dropped: false };
      const opened = entry;
      model.catch(() => {
        if (this.#entries.get(key) === opened) this.#entries.delete(key);
        opened.dropped = true;
      });
    }
    entry.refs++;
    this.#entries.set(key, entry);
    while (this.#entries.size > this.capacity) this.#drop(this.#entries.values().next().value!);
    return entry;
  }

  #drop(entry: Entry): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.refs === 0) this.#dispose(entry);
  }

  #dispose(entry: Entry): void {
    const p = entry.model.then(
      async (m) => {
        this.#disposed++;
        await m.dispose();
      },
      () => undefined, // it never opened: nothing to release
    ).catch(() => undefined).finally(() => this.#disposing.delete(p));
    this.#disposing.add(p);
  }

  stats(): ModelCacheStats {
    return { opens: this.#opens, hits: this.#hits, disposed: this.#disposed, open: this.#entries.size };
  }

  /** Drops every model; those in use are disposed when their job is done. Resolves when the idle ones are. */
  async dispose(): Promise<void> {
    for (const e of [...this.#entries.values()]) this.#drop(e);
    await Promise.all([...this.#disposing]);
  }
}
