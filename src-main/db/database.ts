/**
 * Opening the database: pragmas, version check, migrations. better-sqlite3 is synchronous;
 * keep transactions short so the UI's reads (WAL readers never wait for writers) stay fast.
 */
import Database from 'better-sqlite3';
import { AppError } from '../common/errors';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations';

export type Db = Database.Database;

export interface OpenDatabaseOptions {
  /** Open read-only (no migrations; the file must exist and be current or older). */
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

/** Opens (creating when missing) the database file and brings its schema up to date. */
export function openDatabase(file: string, opts: OpenDatabaseOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false, timeout: opts.busyTimeoutMs ?? 5000 });
  } catch (e) {
    throw new AppError('BAD_ARGUMENT', `Cannot open the database ${file}: ${(e as Error).message}`, {
      hint: 'Check that the data folder exists and is writable, or choose another with --data-dir.',
      subject: file,
      cause: e,
    });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    const migrations = opts.migrations ?? MIGRATIONS;
    const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
    const current = schemaVersion(db);
    if (current > latest) {
      throw new AppError('DB_TOO_NEW', `The database ${file} was written by a newer version of BGAD Inspector (schema ${current}; this version knows up to ${latest}).`, {
        hint: 'Install the newer BGAD Inspector again, or point --data-dir at another folder. Opening it here could damage it, so nothing was changed.',
        subject: file,
      });
    }
    configure(db, opts); // only after the version check: switching to WAL writes to the file
    if (!opts.readonly && !opts.skipMigrations) migrate(db, opts.targetVersion ?? latest, migrations);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function configure(db: Db, opts: OpenDatabaseOptions): void {
  if (!opts.readonly) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
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
 */
export function migrate(db: Db, target: number = LATEST_VERSION, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  checkMigrationList(migrations);
  const current = schemaVersion(db);
  if (target < current) throw new AppError('BAD_ARGUMENT', `Migrations only go forward: the database is at ${current}, asked for ${target}.`);
  const todo = migrations.filter((m) => m.version > current && m.version <= target);
  for (const m of todo) {
    // foreign_keys cannot change inside a transaction; migrations that rebuild tables
    // must check foreign keys themselves (PRAGMA foreign_key_check) before committing.
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return todo;
}

function checkMigrationList(migrations: readonly Migration[]): void {
  let prev = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= prev) throw new Error(`migration ${m.name}: versions must increase (${prev} then ${m.version})`);
    prev = m.version;
  }
}
