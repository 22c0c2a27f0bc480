import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, openDatabase, schemaVersion, type Db } from '../../src-main/db/database';
import { LATEST_VERSION, MIGRATIONS } from '../../src-main/db/migrations';
import { isAppError } from '../../src-main/common/errors';
import { removeDir, tempDir } from './helpers';

const SHA = (c: string) => c.repeat(64);
let dir: string | undefined;
let db: Db | undefined;
afterEach(() => {
  db?.close();
  db = undefined;
  removeDir(dir);
});

function fresh(target: number): Db {
  dir = tempDir();
  db = openDatabase(join(dir, 'bgad.sqlite'), { targetVersion: target });
  return db;
}

function seedInit(d: Db) {
  d.prepare(`INSERT INTO datasets (id, name, created_at_ms, updated_at_ms) VALUES (1, 'tiles', 1, 1)`).run();
  d.prepare(`INSERT INTO defect_types (id, dataset_id, name, colour, created_at_ms) VALUES (1, 1, 'crack', '#ff0000', 1)`).run();
  d.prepare(`INSERT INTO images (id, dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, split, defect_type_id, created_at_ms, updated_at_ms)
    VALUES (1, 1, '/a.png', ?, 10, 10, 1, 8, 'png', 100, 'defect', 'test', 1, 1, 1)`).run(SHA('a'));
  d.prepare(`INSERT INTO masks (image_id, defect_type_id, file, width, height, area_px, created_at_ms, updated_at_ms) VALUES (1, 1, 'masks/1/a.png', 10, 10, 4, 1, 1)`).run();
}

function seedModels(d: Db) {
  d.prepare(`INSERT INTO model_versions (id, dataset_id, number, backbone_id, backbone_hash, threshold, created_at_ms, updated_at_ms) VALUES (1, 1, 1, 'mnv2', 'h', 0.5, 1, 1)`).run();
  d.prepare(`INSERT INTO training_runs (id, dataset_id, status, created_at_ms, model_version_id) VALUES (1, 1, 'completed', 1, 1)`).run();
}

describe('migrations', () => {
  it('are numbered in increasing order (steps of 10, then 51, 52, 53 for work done side by side) with matching names', () => {
    MIGRATIONS.forEach((m, i) => {
      expect(m.version).toBeGreaterThan(i === 0 ? 0 : MIGRATIONS[i - 1]!.version);
      expect(m.name.startsWith(String(m.version).padStart(4, '0') + '_')).toBe(true);
    });
    expect(LATEST_VERSION).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
  });

  it('0010_init creates datasets, images, defect types, masks and import runs with their constraints', () => {
    const d = fresh(10);
    expect(schemaVersion(d)).toBe(10);
    seedInit(d);
    expect(() => d.prepare(`INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, created_at_ms, updated_at_ms) VALUES (1, '/b.png', ?, 1, 1, 1, 8, 'png', 1, 'good', 1, 1)`).run(SHA('a'))).toThrow(/UNIQUE/);
    expect(() => d.prepare(`INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, created_at_ms, updated_at_ms) VALUES (1, '/b.png', ?, 1, 1, 1, 8, 'png', 1, 'broken', 1, 1)`).run(SHA('b'))).toThrow(/CHECK/);
    expect(() => d.prepare(`INSERT INTO images (dataset_id, path, sha256, width, height, channels, bit_depth, format, bytes, label, created_at_ms, updated_at_ms) VALUES (9, '/b.png', ?, 1, 1, 1, 8, 'png', 1, 'good', 1, 1)`).run(SHA('b'))).toThrow(/FOREIGN KEY/);
    d.prepare(`DELETE FROM datasets WHERE id = 1`).run();
    expect(d.prepare(`SELECT count(*) AS n FROM masks`).get()).toEqual({ n: 0 });
  });

  it('0020_models_and_training keeps existing images and allows one active model per dataset', () => {
    const d = fresh(10);
    seedInit(d);
    migrate(d, 20);
    expect(schemaVersion(d)).toBe(20);
    expect(d.prepare(`SELECT label, split FROM images WHERE id = 1`).get()).toEqual({ label: 'defect', split: 'test' });
    seedModels(d);
    d.prepare(`INSERT INTO model_versions (id, dataset_id, number, backbone_id, backbone_hash, created_at_ms, updated_at_ms) VALUES (2, 1, 2, 'mnv2', 'h', 1, 1)`).run();
    d.prepare(`UPDATE model_versions SET is_active = 1 WHERE id = 1`).run();
    expect(() => d.prepare(`UPDATE model_versions SET is_active = 1 WHERE id = 2`).run()).toThrow(/UNIQUE/);
    d.prepare(`INSERT INTO training_loss (run_id, series, step, value) VALUES (1, 'loss', 1, 0.5)`).run();
    expect(() => d.prepare(`INSERT INTO training_runs (dataset_id, status, created_at_ms) VALUES (1, 'exploded', 1)`).run()).toThrow(/CHECK/);
  });

  it('0030_inspection keeps models and makes results unique per run and sha256', () => {
    const d = fresh(20);
    seedInit(d);
    seedModels(d);
    migrate(d, 30);
    expect(schemaVersion(d)).toBe(30);
    expect(d.prepare(`SELECT threshold FROM model_versions WHERE id = 1`).get()).toEqual({ threshold: 0.5 });
    d.prepare(`INSERT INTO inspection_runs (id, dataset_id, model_version_id, source, status, created_at_ms) VALUES (1, 1, 1, '/in', 'running', 1)`).run();
    d.prepare(`INSERT INTO inspection_results (run_id, path, sha256, score, verdict, created_at_ms) VALUES (1, '/x.png', ?, 1.5, 'fail', 1)`).run(SHA('c'));
    expect(() => d.prepare(`INSERT INTO inspection_results (run_id, path, sha256, score, verdict, created_at_ms) VALUES (1, '/y.png', ?, 1.5, 'fail', 1)`).run(SHA('c'))).toThrow(/UNIQUE/);
    expect(() => d.prepare(`INSERT INTO inspection_results (run_id, path, sha256, verdict, created_at_ms) VALUES (1, '/y.png', ?, 'pass', 1)`).run(SHA('d'))).toThrow(/CHECK/);
  });

  it('0040_audit_log audits changes to rows that existed before it and refuses to edit history', () => {
    const d = fresh(30);
    seedInit(d);
    seedModels(d);
    migrate(d, 40);
    expect(schemaVersion(d)).toBe(40);
    expect(d.prepare(`SELECT count(*) AS n FROM audit_log`).get()).toEqual({ n: 0 });
    d.prepare(`UPDATE images SET label = 'good', defect_type_id = NULL WHERE id = 1`).run();
    d.prepare(`UPDATE model_versions SET threshold = 0.7 WHERE id = 1`).run();
    d.prepare(`UPDATE model_versions SET is_active = 1 WHERE id = 1`).run();
    d.prepare(`UPDATE masks SET area_px = 5`).run();
    const actions = (d.prepare(`SELECT entity, action FROM audit_log ORDER BY id`).all() as { entity: string; action: string }[]).map((r) => `${r.entity}:${r.action}`);
    expect(actions).toEqual(['image:label', 'model_version:threshold', 'model_version:activate', 'mask:mask_update']);
    expect(() => d.prepare(`UPDATE audit_log SET action = 'x'`).run()).toThrow(/append-only/);
    expect(() => d.prepare(`DELETE FROM audit_log`).run()).toThrow(/append-only/);
  });

  it('bring a new database to the latest version, and re-opening changes nothing', () => {
    dir = tempDir();
    const file = join(dir, 'bgad.sqlite');
    openDatabase(file).close();
    db = openDatabase(file);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(migrate(db)).toEqual([]);
  });

  it('leave the database at the previous whole version when a migration fails', () => {
    dir = tempDir();
    const file = join(dir, 'bgad.sqlite');
    const broken = [...MIGRATIONS.slice(0, 2), { version: 30, name: '0030_broken', sql: 'CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);' }];
    expect(() => openDatabase(file, { migrations: broken })).toThrow(/no_such_table/);
    db = openDatabase(file, { skipMigrations: true });
    expect(schemaVersion(db)).toBe(20);
    expect(db.prepare(`SELECT name FROM sqlite_schema WHERE name = 'half_done'`).get()).toBeUndefined();
  });

  it('refuse to open a database written by a newer version, without changing it', () => {
    dir = tempDir();
    const file = join(dir, 'bgad.sqlite');
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_VERSION + 10}`);
    raw.close();
    let err: unknown;
    try {
      openDatabase(file);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err) && err.code).toBe('DB_TOO_NEW');
    expect((err as Error).message).toMatch(/newer version/);
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(LATEST_VERSION + 10);
    expect(check.prepare(`SELECT count(*) AS n FROM sqlite_schema`).get()).toEqual({ n: 0 });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });
});
