/**
 * Numbered, forward-only schema migrations (steps of 10). Never edit a migration that has
 * shipped: add a new one. Each runs inside the transaction that also sets
 * `PRAGMA user_version` to its number, so a database is always at exactly one version.
 *
 * Conventions: timestamps are integer milliseconds since the epoch (`*_ms`); JSON columns
 * end in `_json`; file references are paths relative to the data folder.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const init = /* sql */ `
CREATE TABLE datasets (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);

CREATE TABLE defect_types (
  id            INTEGER PRIMARY KEY,
  dataset_id    INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  name          TEXT NOT NULL CHECK (length(name) > 0),
  colour        TEXT NOT NULL CHECK (colour GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
  created_at_ms INTEGER NOT NULL,
  UNIQUE (dataset_id, name)
);

CREATE TABLE import_runs (
  id              INTEGER PRIMARY KEY,
  dataset_id      INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  source          TEXT NOT NULL,
  layout          TEXT NOT NULL CHECK (layout IN ('mvtec', 'plain')),
  status          TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
  pid             INTEGER,
  heartbeat_at_ms INTEGER,
  total           INTEGER NOT NULL DEFAULT 0,
  imported        INTEGER NOT NULL DEFAULT 0,
  duplicates      INTEGER NOT NULL DEFAULT 0,
  rejected        INTEGER NOT NULL DEFAULT 0,
  masks           INTEGER NOT NULL DEFAULT 0,
  problems_json   TEXT NOT NULL DEFAULT '[]',
  error           TEXT,
  started_at_ms   INTEGER NOT NULL,
  finished_at_ms  INTEGER
);
CREATE INDEX import_runs_status ON import_runs(status);

CREATE TABLE images (
  id             INTEGER PRIMARY KEY,
  dataset_id     INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  path           TEXT NOT NULL,
  sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
  width          INTEGER NOT NULL CHECK (width > 0),
  height         INTEGER NOT NULL CHECK (height > 0),
  channels       INTEGER NOT NULL,
  bit_depth      INTEGER NOT NULL,
  format         TEXT NOT NULL,
  bytes          INTEGER NOT NULL,
  label          TEXT NOT NULL DEFAULT 'unlabelled' CHECK (label IN ('good', 'defect', 'unlabelled')),
  split          TEXT CHECK (split IN ('train', 'val', 'test')),
  defect_type_id INTEGER REFERENCES defect_types(id) ON DELETE SET NULL,
  source         TEXT,
  import_run_id  INTEGER REFERENCES import_runs(id) ON DELETE SET NULL,
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL,
  UNIQUE (dataset_id, sha256)
);
CREATE INDEX images_dataset_label ON images(dataset_id, label);
CREATE INDEX images_dataset_split ON images(dataset_id, split);
CREATE INDEX images_dataset_defect ON images(dataset_id, defect_type_id);
CREATE INDEX images_dataset_path ON images(dataset_id, path);
CREATE INDEX images_import_run ON images(import_run_id);
CREATE INDEX images_defect_type ON images(defect_type_id);

CREATE TABLE masks (
  id             INTEGER PRIMARY KEY,
  image_id       INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  defect_type_id INTEGER NOT NULL REFERENCES defect_types(id) ON DELETE CASCADE,
  file           TEXT NOT NULL,
  width          INTEGER NOT NULL,
  height         INTEGER NOT NULL,
  area_px        INTEGER NOT NULL CHECK (area_px >= 0),
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL,
  UNIQUE (image_id, defect_type_id)
);
CREATE INDEX masks_defect_type ON masks(defect_type_id);
`;

const modelsAndTraining = /* sql */ `
CREATE TABLE training_runs (
  id               INTEGER PRIMARY KEY,
  dataset_id       INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted')),
  config_json      TEXT NOT NULL DEFAULT '{}',
  progress         REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  step             INTEGER NOT NULL DEFAULT 0,
  message          TEXT,
  timings_json     TEXT NOT NULL DEFAULT '{}',
  error            TEXT,
  pid              INTEGER,
  heartbeat_at_ms  INTEGER,
  resume_of        INTEGER REFERENCES training_runs(id) ON DELETE SET NULL,
  model_version_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  created_at_ms    INTEGER NOT NULL,
  started_at_ms    INTEGER,
  finished_at_ms   INTEGER
);
CREATE INDEX training_runs_dataset ON training_runs(dataset_id, id);
CREATE INDEX training_runs_status ON training_runs(status);

-- Loss curves, one row per (run, series, step): appending never rewrites earlier points.
CREATE TABLE training_loss (
  run_id INTEGER NOT NULL REFERENCES training_runs(id) ON DELETE CASCADE,
  series TEXT NOT NULL,
  step   INTEGER NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (run_id, series, step)
) WITHOUT ROWID;

CREATE TABLE model_versions (
  id               INTEGER PRIMARY KEY,
  dataset_id       INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  number           INTEGER NOT NULL CHECK (number > 0),
  name             TEXT,
  backbone_id      TEXT NOT NULL,
  backbone_hash    TEXT NOT NULL,
  config_json      TEXT NOT NULL DEFAULT '{}',
  bundle_file      TEXT,
  calibration_json TEXT NOT NULL DEFAULT '{}',
  threshold        REAL,
  metrics_json     TEXT NOT NULL DEFAULT '{}',
  eval_split_json  TEXT NOT NULL DEFAULT '{}',
  status           TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('draft', 'ready', 'failed', 'archived')),
  parent_id        INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  training_run_id  INTEGER REFERENCES training_runs(id) ON DELETE SET NULL,
  is_active        INTEGER NOT NULL DEFAULT 0 CHECK (is_active IN (0, 1)),
  created_at_ms    INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL,
  UNIQUE (dataset_id, number)
);
-- At most one active model per dataset, enforced by the database itself.
CREATE UNIQUE INDEX model_versions_one_active ON model_versions(dataset_id) WHERE is_active = 1;
CREATE INDEX model_versions_parent ON model_versions(parent_id);
CREATE INDEX model_versions_training_run ON model_versions(training_run_id);
`;

const inspection = /* sql */ `
CREATE TABLE inspection_runs (
  id               INTEGER PRIMARY KEY,
  dataset_id       INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
  model_version_id INTEGER REFERENCES model_versions(id) ON DELETE SET NULL,
  source           TEXT NOT NULL,
  threshold        REAL,
  status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted')),
  pid              INTEGER,
  heartbeat_at_ms  INTEGER,
  error            TEXT,
  created_at_ms    INTEGER NOT NULL,
  started_at_ms    INTEGER,
  finished_at_ms   INTEGER
);
CREATE INDEX inspection_runs_status ON inspection_runs(status);
CREATE INDEX inspection_runs_model ON inspection_runs(model_version_id);
CREATE INDEX inspection_runs_dataset ON inspection_runs(dataset_id);

CREATE TABLE inspection_results (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES inspection_runs(id) ON DELETE CASCADE,
  path          TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  score         REAL,
  verdict       TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error')),
  heatmap_file  TEXT,
  error         TEXT,
  created_at_ms INTEGER NOT NULL,
  CHECK (verdict = 'error' OR score IS NOT NULL),
  UNIQUE (run_id, sha256)
);
CREATE INDEX inspection_results_verdict ON inspection_results(run_id, verdict);
`;

const auditLog = /* sql */ `
-- Append-only: no foreign keys (history outlives what it describes), and triggers refuse
-- UPDATE and DELETE. Changes are recorded by triggers so no code path can skip them.
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms      INTEGER NOT NULL,
  dataset_id INTEGER,
  entity     TEXT NOT NULL,
  entity_id  INTEGER,
  action     TEXT NOT NULL,
  old_json   TEXT,
  new_json   TEXT
);
CREATE INDEX audit_log_dataset ON audit_log(dataset_id, id);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted'); END;

CREATE TRIGGER audit_image_label AFTER UPDATE OF label, defect_type_id ON images
WHEN OLD.label IS NOT NEW.label OR OLD.defect_type_id IS NOT NEW.defect_type_id
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.dataset_id, 'image', NEW.id, 'label',
          json_object('label', OLD.label, 'defectTypeId', OLD.defect_type_id),
          json_object('label', NEW.label, 'defectTypeId', NEW.defect_type_id));
END;

CREATE TRIGGER audit_mask_insert AFTER INSERT ON masks
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), (SELECT dataset_id FROM images WHERE id = NEW.image_id), 'mask', NEW.image_id, 'mask_create',
          NULL, json_object('defectTypeId', NEW.defect_type_id, 'areaPx', NEW.area_px, 'file', NEW.file));
END;

CREATE TRIGGER audit_mask_update AFTER UPDATE ON masks
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), (SELECT dataset_id FROM images WHERE id = NEW.image_id), 'mask', NEW.image_id, 'mask_update',
          json_object('defectTypeId', OLD.defect_type_id, 'areaPx', OLD.area_px, 'file', OLD.file),
          json_object('defectTypeId', NEW.defect_type_id, 'areaPx', NEW.area_px, 'file', NEW.file));
END;

CREATE TRIGGER audit_mask_delete AFTER DELETE ON masks
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), (SELECT dataset_id FROM images WHERE id = OLD.image_id), 'mask', OLD.image_id, 'mask_delete',
          json_object('defectTypeId', OLD.defect_type_id, 'areaPx', OLD.area_px, 'file', OLD.file), NULL);
END;

CREATE TRIGGER audit_model_threshold AFTER UPDATE OF threshold ON model_versions
WHEN OLD.threshold IS NOT NEW.threshold
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.dataset_id, 'model_version', NEW.id, 'threshold',
          json_object('threshold', OLD.threshold), json_object('threshold', NEW.threshold));
END;

CREATE TRIGGER audit_model_activation AFTER UPDATE OF is_active ON model_versions
WHEN OLD.is_active IS NOT NEW.is_active
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.dataset_id, 'model_version', NEW.id,
          CASE NEW.is_active WHEN 1 THEN 'activate' ELSE 'deactivate' END,
          json_object('isActive', OLD.is_active), json_object('isActive', NEW.is_active));
END;
`;

const stationRuns = /* sql */ `
-- Station mode in the app: an inspection run fed by a watched folder, its results stored as
-- they come. The row says where the station watched and wrote (absolute paths, chosen by the
-- user like inspection_runs.source; the output folder may lie outside the data folder).
CREATE TABLE station_runs (
  run_id       INTEGER PRIMARY KEY REFERENCES inspection_runs(id) ON DELETE CASCADE,
  input        TEXT NOT NULL,
  out          TEXT NOT NULL,
  move_to      TEXT,
  options_json TEXT NOT NULL DEFAULT '{}'
);
-- reports of a time range (a shift) of one run
CREATE INDEX inspection_results_time ON inspection_results(run_id, created_at_ms);
`;

const reviewBand = /* sql */ `
-- The review band (issue 20): scores with low < score <= high get the verdict 'review'. Both
-- ends or neither; the bundle file holds it too (rewritten with the row, like the threshold).
ALTER TABLE model_versions ADD COLUMN review_low REAL;
ALTER TABLE model_versions ADD COLUMN review_high REAL CHECK ((review_low IS NULL) = (review_high IS NULL) AND (review_high IS NULL OR review_low < review_high));
-- the band in force when a run started (as threshold)
ALTER TABLE inspection_runs ADD COLUMN review_low REAL;
ALTER TABLE inspection_runs ADD COLUMN review_high REAL;

CREATE TRIGGER audit_model_review_band AFTER UPDATE OF review_low, review_high ON model_versions
WHEN OLD.review_low IS NOT NEW.review_low OR OLD.review_high IS NOT NEW.review_high
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.dataset_id, 'model_version', NEW.id, 'review_band',
          CASE WHEN OLD.review_low IS NULL THEN json_object('reviewBand', NULL) ELSE json_object('reviewBand', json_object('low', OLD.review_low, 'high', OLD.review_high)) END,
          CASE WHEN NEW.review_low IS NULL THEN json_object('reviewBand', NULL) ELSE json_object('reviewBand', json_object('low', NEW.review_low, 'high', NEW.review_high)) END);
END;

-- inspection_results.verdict takes 'review': the table is rebuilt (SQLite cannot change a CHECK).
-- Nothing references inspection_results, so dropping the old table cascades nowhere.
CREATE TABLE inspection_results_new (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES inspection_runs(id) ON DELETE CASCADE,
  path          TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  score         REAL,
  verdict       TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error', 'review')),
  heatmap_file  TEXT,
  error         TEXT,
  created_at_ms INTEGER NOT NULL,
  CHECK (verdict = 'error' OR score IS NOT NULL),
  UNIQUE (run_id, sha256)
);
INSERT INTO inspection_results_new (id, run_id, path, sha256, score, verdict, heatmap_file, error, created_at_ms)
  SELECT id, run_id, path, sha256, score, verdict, heatmap_file, error, created_at_ms FROM inspection_results;
DROP TABLE inspection_results;
ALTER TABLE inspection_results_new RENAME TO inspection_results;
CREATE INDEX inspection_results_verdict ON inspection_results(run_id, verdict);
CREATE INDEX inspection_results_time ON inspection_results(run_id, created_at_ms);
`;

const robustnessReports = /* sql */ `
-- The unseen-defect robustness reports of a dataset (models.robustness): stored whole when the
-- job completes (a cancelled or failed job stores nothing), so a report survives a restart.
CREATE TABLE robustness_reports (
  id            INTEGER PRIMARY KEY,
  dataset_id    INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  config_json   TEXT NOT NULL DEFAULT '{}',
  report_json   TEXT NOT NULL,
  duration_ms   INTEGER NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX robustness_reports_dataset ON robustness_reports(dataset_id, id);
`;

const inspectionArea = /* sql */ `
-- The inspection area (region of interest) of a dataset: a binary mask in image-normalised
-- coordinates (src-main/bgad/area.ts), deflated 0/1 bytes of width*height. One per dataset;
-- no row: the whole image. Changes are audited by triggers, like masks.
CREATE TABLE inspection_areas (
  dataset_id    INTEGER PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
  width         INTEGER NOT NULL CHECK (width > 0),
  height        INTEGER NOT NULL CHECK (height > 0),
  pixels        BLOB NOT NULL,
  area_px       INTEGER NOT NULL CHECK (area_px > 0 AND area_px <= width * height),
  sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
  updated_at_ms INTEGER NOT NULL
);

CREATE TRIGGER audit_inspection_area_insert AFTER INSERT ON inspection_areas
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.dataset_id, 'inspection_area', NEW.dataset_id, 'set', NULL,
          json_object('width', NEW.width, 'height', NEW.height, 'areaPx', NEW.area_px, 'sha256', NEW.sha256));
END;

CREATE TRIGGER audit_inspection_area_update AFTER UPDATE ON inspection_areas
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.dataset_id, 'inspection_area', NEW.dataset_id, 'set',
          json_object('width', OLD.width, 'height', OLD.height, 'areaPx', OLD.area_px, 'sha256', OLD.sha256),
          json_object('width', NEW.width, 'height', NEW.height, 'areaPx', NEW.area_px, 'sha256', NEW.sha256));
END;

CREATE TRIGGER audit_inspection_area_delete AFTER DELETE ON inspection_areas
BEGIN
  INSERT INTO audit_log (at_ms, dataset_id, entity, entity_id, action, old_json, new_json)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), OLD.dataset_id, 'inspection_area', OLD.dataset_id, 'clear',
          json_object('width', OLD.width, 'height', OLD.height, 'areaPx', OLD.area_px, 'sha256', OLD.sha256), NULL);
END;
`;

const reviewDecisions = /* sql */ `
-- The review loop: a person's decision on an inspection result (good: a false alarm, joins the
-- dataset as a normal training image; defect: joins as defective; skip). At most one current
-- decision per result; a decision made again on a decided result supersedes the earlier one, and
-- undo takes back the newest batch (one review.decide call), bringing the superseded ones back.
-- image_before_json is the dataset image's row before the decision (null: there was none), so
-- undo restores it exactly; changed = 0 when the decision left the image as it was.
CREATE TABLE review_decisions (
  id                INTEGER PRIMARY KEY,
  result_id         INTEGER NOT NULL REFERENCES inspection_results(id) ON DELETE CASCADE,
  run_id            INTEGER NOT NULL REFERENCES inspection_runs(id) ON DELETE CASCADE,
  dataset_id        INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  decision          TEXT NOT NULL CHECK (decision IN ('good', 'defect', 'skip')),
  sha256            TEXT NOT NULL,
  image_id          INTEGER,
  image_before_json TEXT,
  changed           INTEGER NOT NULL DEFAULT 0 CHECK (changed IN (0, 1)),
  supersedes        INTEGER REFERENCES review_decisions(id) ON DELETE SET NULL,
  batch             INTEGER NOT NULL,
  actor             TEXT,
  decided_at_ms     INTEGER NOT NULL,
  undone_at_ms      INTEGER
);
CREATE UNIQUE INDEX review_decisions_current ON review_decisions(result_id) WHERE undone_at_ms IS NULL;
CREATE INDEX review_decisions_run ON review_decisions(run_id, batch);
CREATE INDEX review_decisions_dataset ON review_decisions(dataset_id, decision);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 10, name: '0010_init', sql: init },
  { version: 20, name: '0020_models_and_training', sql: modelsAndTraining },
  { version: 30, name: '0030_inspection', sql: inspection },
  { version: 40, name: '0040_audit_log', sql: auditLog },
  { version: 50, name: '0050_station_runs', sql: stationRuns },
  { version: 51, name: '0051_review_band', sql: reviewBand },
  { version: 52, name: '0052_review_decisions', sql: reviewDecisions },
  { version: 53, name: '0053_inspection_area', sql: inspectionArea },
  { version: 54, name: '0054_robustness_reports', sql: robustnessReports },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
