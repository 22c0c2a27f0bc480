/**
 * Opening the database: pragmas, version check, migrations. better-sqlite3 is synchronous;
 * keep transactions short so the UI's reads (WAL readers never wait for writers) stay fast.
 *
 * Storage failures (full disk, read-only folder, failing disk) surface as named AppErrors
 * (DISK_FULL, READ_ONLY, IO_ERROR) naming the file: at open, and from every statement and
 * transaction of the returned connection (see `guardDatabase`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AppError, isAppError } from '../common/errors';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations';
import { asStorageError, classifyStorageError, diagnoseStorage, storageError } from './storage-errors';

export type Db = Database.Database;

export interface OpenDatabaseOptions {
  /** Open read-only (no migrations, no writes; the file must exist and be current or older). See `openReadOnlyDatabase`. */
  readonly?: boolean;
  /** Migrate up to this version instead of the latest (tests of single migrations). */
  targetVersion?: number;
  /** Do not migrate at all (inspection tools). */
  skipMigrations?: boolean;
  /** Milliseconds a writer waits for another writer's lock (default 5000). */
  busyTimeoutMs?: number;
  /** Migration list (tests); defaults to the shipped one. */
  migrations?: readonly Migration[];
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function latestOf(migrations: readonly Migration[]): number {
  return migrations.length ? migrations[migrations.length - 1]!.version : 0;
}

function tooNew(file: string, current: number, latest: number): AppError {
  return new AppError('DB_TOO_NEW', `The database ${file} was written by a newer version of BGAD Inspector (schema ${current}; this version knows up to ${latest}).`, {
    hint: 'Install the newer BGAD Inspector again, or point --data-dir at another folder. Opening it here could damage it, so nothing was changed.',
    subject: file,
  });
}

const openContext = (file: string) => ({ path: file, action: 'open the database' });

/** Opens (creating when missing) the database file and brings its schema up to date. */
export function openDatabase(file: string, opts: OpenDatabaseOptions = {}): Db {
  if (opts.readonly) return openReadOnlyDatabase(file, opts).db;
  let db: Db;
  try {
    db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 });
  } catch (e) {
    throw storageError(e, openContext(file)) ?? new AppError('BAD_ARGUMENT', `Cannot open the database ${file}: ${(e as Error).message}`, {
      hint: 'Check that the data folder exists and is writable, or choose another with --data-dir.',
      subject: file,
      cause: e,
    });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    const migrations = opts.migrations ?? MIGRATIONS;
    const latest = latestOf(migrations);
    const current = schemaVersion(db);
    if (current > latest) throw tooNew(file, current, latest);
    configure(db, opts); // only after the version check: switching to WAL writes to the file
    if (!opts.skipMigrations) migrate(db, opts.targetVersion ?? latest, migrations, { file, busyTimeoutMs: opts.busyTimeoutMs });
    return guardDatabase(db, file);
  } catch (e) {
    db.close();
    throw asStorageError(e, openContext(file));
  }
}

export interface ReadOnlyDatabase {
  db: Db;
  /** The schema version of the file (may be older than this version's; never newer). */
  version: number;
  /**
   * True when SQLite could not open the file in place (a WAL database needs to create or
   * grow its `-shm` index, which a read-only folder or a full disk forbids) and the
   * connection reads a copy of the file taken into memory at open.
   */
  snapshot: boolean;
  /** With `snapshot`: a non-empty `-wal` file holds committed changes the copy does not include. */
  walNotRead: boolean;
}

/**
 * Opens an existing database for reading only: no migrations, no WAL switch, no writes of
 * any kind, so it works on a full disk and in a read-only folder. A schema older than this
 * version's is opened as it is (the caller says so); a newer one is refused (DB_TOO_NEW).
 *
 * SQLite needs the WAL index (`-shm`) to read a WAL database; where it cannot create or grow
 * it, the file is read into memory instead (a consistent copy as of the last checkpoint:
 * `walNotRead` tells whether later committed changes are still in the `-wal` file).
 */
export function openReadOnlyDatabase(file: string, opts: { busyTimeoutMs?: number; migrations?: readonly Migration[] } = {}): ReadOnlyDatabase {
  if (!existsSync(file)) {
    throw new AppError('NOT_FOUND', `There is no database ${file}.`, {
      hint: 'Check --data-dir (or BGAD_DATA_DIR); "bgad import FOLDER" creates the database in a new data folder.',
      subject: file,
    });
  }
  const latest = latestOf(opts.migrations ?? MIGRATIONS);
  let db: Db | undefined;
  let snapshot = false;
  let walNotRead = false;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: opts.busyTimeoutMs ?? 5000 });
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    db.prepare('SELECT count(*) FROM sqlite_schema').get(); // the first read opens the WAL index
  } catch (e) {
    db?.close();
    db = undefined;
    const problem = classifyStorageError(e, file);
    if (problem !== 'DISK_FULL' && problem !== 'READ_ONLY') throw asStorageError(e, { path: file, action: 'read the database' });
  }
  if (!db) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw asStorageError(e, { path: file, action: 'read the database' });
    }
    // A WAL database (file format 2) cannot be opened from memory; the copy reads as a
    // rollback-journal one (the pages are the same). The file itself is not touched.
    if (bytes.length >= 100 && bytes.toString('latin1', 0, 16) === 'SQLite format 3\u0000') {
      if (bytes[18] === 2) bytes[18] = 1;
      if (bytes[19] === 2) bytes[19] = 1;
    }
    try {
      db = new Database(bytes, { readonly: true });
    } catch (e) {
      throw new AppError('IO_ERROR', `Cannot read the database ${file}: ${(e as Error).message}`, { subject: file, cause: e, hint: 'Run "bgad db check" once the disk has space or is writable again; restore from a backup if it keeps failing.' });
    }
    snapshot = true;
    const wal = `${file}-wal`;
    walNotRead = existsSync(wal) && statSync(wal).size > 0;
  }
  try {
    const version = schemaVersion(db);
    if (version > latest) throw tooNew(file, version, latest);
    db.pragma('foreign_keys = ON');
    return { db: guardDatabase(db, file, { readonly: true }), version, snapshot, walNotRead };
  } catch (e) {
    db.close();
    throw asStorageError(e, { path: file, action: 'read the database' });
  }
}

/** Sleeps the thread (better-sqlite3 is synchronous anyway). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const isBusy = (e: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((e as { code?: unknown }).code ?? ''));

/**
 * Runs `fn`, retrying while another connection holds the lock it needs, for up to
 * `timeoutMs`. SQLite gives up at once (no busy handler) when waiting could deadlock, e.g.
 * two new connections switching the same new file to WAL at the same moment.
 */
function retryWhileBusy<T>(fn: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
      sleepMs(Math.min(50, 2 + attempt * 5) + Math.random() * 5);
    }
  }
}

function configure(db: Db, opts: OpenDatabaseOptions): void {
  if (!opts.readonly) {
    // Another process may be creating or switching the same new file right now.
    const mode = retryWhileBusy(() => db.pragma('journal_mode = WAL', { simple: true }), Math.max(1000, opts.busyTimeoutMs ?? 5000));
    if (mode !== 'wal' && db.name !== ':memory:') throw new Error(`could not switch ${db.name} to WAL (journal_mode=${String(mode)})`);
    // NORMAL is durable across application crashes in WAL mode; a power cut may lose the
    // last transactions but never corrupts the file.
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
}

/**
 * Applies every migration above the current version up to `target`, each in its own
 * transaction that also sets `user_version`, so a crash leaves the database at a whole
 * version. Returns the migrations applied.
 *
 * Several processes may open the same new data folder at once (the app and `bgad serve`,
 * two line scripts): each step takes the write lock first (BEGIN IMMEDIATE, waiting up to
 * the busy timeout) and only then reads the version, so a step another process has just
 * applied is skipped instead of run twice ("table datasets already exists").
 */
export function migrate(
  db: Db,
  target: number = LATEST_VERSION,
  migrations: readonly Migration[] = MIGRATIONS,
  opts: { file?: string; busyTimeoutMs?: number } = {},
): Migration[] {
  checkMigrationList(migrations);
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  const file = opts.file ?? db.name;
  const check = (current: number) => {
    if (current > latest) throw tooNew(file, current, latest);
    if (target < current) throw new AppError('BAD_ARGUMENT', `Migrations only go forward: the database is at ${current}, asked for ${target}.`);
  };
  // A plain read first: an up-to-date database (the usual case) takes no write lock at all.
  const before = schemaVersion(db);
  check(before);
  if (!migrations.some((m) => m.version > before && m.version <= target)) return [];
  const applied: Migration[] = [];
  const step = db.transaction((): Migration | null => {
    const current = schemaVersion(db); // re-read under the lock: another process may have migrated
    check(current);
    const m = migrations.find((x) => x.version > current && x.version <= target);
    if (!m) return null;
    // foreign_keys cannot change inside a transaction; migrations that rebuild tables
    // must check foreign keys themselves (PRAGMA foreign_key_check) before committing.
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
    return m;
  });
  for (;;) {
    // BEGIN IMMEDIATE waits for the busy timeout; retry past SQLite's deadlock give-ups too.
    const m = retryWhileBusy(() => step.immediate(), Math.max(1000, opts.busyTimeoutMs ?? 5000));
    if (!m) break;
    applied.push(m);
  }
  return applied;
}

function checkMigrationList(migrations: readonly Migration[]): void {
  let prev = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= prev) throw new Error(`migration ${m.name}: versions must increase (${prev} then ${m.version})`);
    prev = m.version;
  }
}

// ---------------------------------------------------------------------------------------
// The guard: every error a statement, pragma, exec or transaction of the connection throws
// for a storage reason (SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR, ...) becomes the named
// AppError, so no code path above needs to know about it and nothing reaches the user as
// "internal error: SqliteError: database or disk is full".

type AnyFn = (...args: unknown[]) => unknown;
type Mapper = (e: unknown) => unknown;

function dbErrorMapper(file: string, readonly: boolean): Mapper {
  return (e) => {
    if (isAppError(e)) return e;
    if (readonly && /^SQLITE_READONLY/.test(String((e as { code?: unknown }).code ?? ''))) {
      return new AppError('READ_ONLY', `The database ${file} was opened read-only by this command, so it cannot be changed.`, {
        subject: file,
        cause: e,
        hint: diagnoseStorage(file) ? 'The data folder cannot be written now (full disk or read-only folder); free space or make it writable, then run the command that changes data.' : 'Use the command that changes the data (e.g. "bgad import", "bgad db migrate").',
      });
    }
    return asStorageError(e, { path: file });
  };
}

function guardIterator(it: IterableIterator<unknown>, map: Mapper): IterableIterator<unknown> {
  const call = (f: () => IteratorResult<unknown>) => {
    try {
      return f();
    } catch (e) {
      throw map(e);
    }
  };
  const g: IterableIterator<unknown> = {
    next: (...a: [] | [unknown]) => call(() => it.next(...a)),
    return: (v?: unknown) => call(() => (it.return ? it.return(v) : { done: true, value: v })),
    [Symbol.iterator]: () => g,
  };
  return g;
}

/**
 * The one wrapping of the guard: a proxy of `target` whose methods throw `map(error)` instead
 * of what they threw. A method that returns `target` itself returns the proxy (pluck(),
 * exec(), ... chain); `result` may wrap what another method returns (a statement, a
 * transaction, an iterator); `replace` may swap a method for another, or leave it unguarded
 * ('bare'). Wrapped methods are made once per target and property.
 */
function guardMethods<T extends object>(
  target: T,
  map: Mapper,
  hooks: { replace?(prop: PropertyKey, f: AnyFn): AnyFn | 'bare'; result?(prop: PropertyKey, r: unknown, proxy: T): unknown } = {},
): T {
  const wrapped = new Map<PropertyKey, AnyFn>();
  const proxy: T = new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== 'function') return v;
      let w = wrapped.get(prop);
      if (!w) {
        const f = hooks.replace ? hooks.replace(prop, v as AnyFn) : (v as AnyFn);
        if (f === 'bare') w = (v as AnyFn).bind(t) as AnyFn;
        else {
          w = (...args: unknown[]) => {
            let r: unknown;
            try {
              r = f.apply(t, args);
            } catch (e) {
              throw map(e);
            }
            if (r === t) return proxy;
            return hooks.result ? hooks.result(prop, r, proxy) : r;
          };
        }
        wrapped.set(prop, w);
      }
      return w;
    },
  });
  return proxy;
}

function guardStatement<S extends object>(stmt: S, map: Mapper): S {
  const s = stmt as unknown as { reader: boolean; readonly: boolean; all: AnyFn };
  // A write that returns rows (INSERT/UPDATE/DELETE ... RETURNING). In autocommit mode its
  // commit happens when the statement finishes; better-sqlite3's get() stops after the first
  // row and does not report the failure of that commit (SQLITE_FULL on a full disk), so the
  // row would be returned although it was never saved. all() steps to the end and reports it;
  // SQLite computes every RETURNING row before handing out the first anyway.
  const writesAndReturns = s.reader && !s.readonly;
  return guardMethods(stmt, map, {
    replace: (prop, f) => (prop === 'get' && writesAndReturns ? (((...args: unknown[]) => (s.all.apply(stmt, args) as unknown[])[0]) as AnyFn) : f),
    result: (prop, r) => (prop === 'iterate' ? guardIterator(r as IterableIterator<unknown>, map) : r),
  });
}

function guardTransaction(tx: AnyFn & Record<string, unknown>, map: Mapper, database: Db): AnyFn {
  const wrap = (f: AnyFn): AnyFn & Record<string, unknown> =>
    function (this: unknown, ...args: unknown[]) {
      try {
        return f.apply(this, args);
      } catch (e) {
        throw map(e);
      }
    } as AnyFn & Record<string, unknown>;
  const variants = {
    default: wrap(tx.default as AnyFn),
    deferred: wrap(tx.deferred as AnyFn),
    immediate: wrap(tx.immediate as AnyFn),
    exclusive: wrap(tx.exclusive as AnyFn),
  };
  for (const v of Object.values(variants)) {
    for (const [k, f] of Object.entries(variants)) Object.defineProperty(v, k, { value: f });
    Object.defineProperty(v, 'database', { value: database, enumerable: true });
  }
  return variants.default;
}

/**
 * Wraps a connection so that storage failures thrown by anything done through it become
 * named AppErrors naming `file`. Everything else (results, other errors, getters such as
 * `inTransaction`) passes through unchanged. `backup()` is left alone: its destination, not
 * the database, is what its errors are about (see backupDatabase).
 */
export function guardDatabase(db: Db, file: string, opts: { readonly?: boolean } = {}): Db {
  const map = dbErrorMapper(file, opts.readonly ?? false);
  return guardMethods(db, map, {
    replace: (prop, f) => (prop === 'backup' ? 'bare' : f),
    result: (prop, r, proxy) => {
      if (prop === 'prepare') return guardStatement(r as object, map);
      if (prop === 'transaction') return guardTransaction(r as AnyFn & Record<string, unknown>, map, proxy);
      return r;
    },
  });
}
