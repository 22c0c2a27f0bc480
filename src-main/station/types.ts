/**
 * The station's records: its options, the result event sent to a line's receivers (webhook,
 * MQTT), what it reports to its caller (one result at a time, notices, a periodic summary).
 */
import type { ModelBundle } from '../bgad/bundle';
import type { ExecutionProvider, ReviewBand, Verdict } from '../common/records';
import type { InspectionFileResult } from '../model/records';
import type { LogResult } from '../inspection/results-log';

/**
 * One result as a line controller receives it: the same JSON on every sink. `id` is stable
 * (derived from the result line in results.jsonl): delivery is at least once, with an id, so a
 * receiver de-duplicates by it.
 */
export interface ResultEvent {
  /** Stable id of this result (32 hex characters); also the webhook's Idempotency-Key. */
  id: string;
  type: 'inspection.result';
  /** The file, relative to the watched folder, `/`-separated. */
  path: string;
  /** The watched folder (absolute). */
  input: string;
  /** sha256 of the file's bytes; null when it could not be read. */
  sha256: string | null;
  /** Null when the file could not be inspected (verdict error). */
  score: number | null;
  /** pass, fail or error; review (a person decides) only when the station runs with a review band. */
  verdict: Verdict;
  threshold: number;
  /** The review band in use (scores in (low, high] get the verdict review); absent without one, so the event is as before. */
  reviewBand?: ReviewBand;
  errorCode: string | null;
  error: string | null;
  model: { version: string | null; file: string | null; sha256: string };
  /** When the result was written (ISO 8601; the `at` of its line in results.jsonl). */
  time: string;
  /** From the moment the file was found complete to its result on disk; null for a result recovered after a restart. */
  latencyMs: number | null;
}

/** A receiver of result events. */
export interface SinkOptions {
  /** Back-off after a failed delivery: first wait (default 500 ms), doubling up to maxMs (default 30 s). */
  retry?: { initialMs?: number; maxMs?: number };
}

export interface MqttOptions {
  /** mqtt://host:port, mqtts://, ws:// or wss:// (user:password@ in the URL when the broker asks for them). */
  url: string;
  topic: string;
  /** Default `bgad-watch-<random>`. */
  clientId?: string;
}

export interface StationOptions {
  /** A .bgad file or a bundle in memory. */
  model: string | ModelBundle;
  /** The model version (the app's number or name) carried in each event; default null. */
  modelVersion?: string | null;
  /** The folder watched, recursively. */
  input: string;
  /** Where results.jsonl, results.csv, heatmaps/, thumbs/ and station/ (the event queue) go. */
  out: string;
  /** A file is read once its size and modification time have not changed for this long (default 1000 ms). */
  settleMs?: number;
  /** Moves each inspected file into MOVE_TO/pass, fail, error or review (keeping its sub-path, never overwriting). */
  moveTo?: string;
  /** POSTs each result event here. */
  webhook?: string;
  /** Publishes each result event with QoS 1. */
  mqtt?: MqttOptions;
  threshold?: number;
  /** A review band: `'model'` for the model's own (refused when it has none), or one given; absent or null: none. */
  reviewBand?: ReviewBand | 'model' | null;
  include?: string[];
  exclude?: string[];
  threads?: number;
  spin?: boolean;
  executionProvider?: ExecutionProvider;
  cacheDir?: string;
  maxFileBytes?: number;
  maxPixels?: number;
  /** Delivery back-off (default 500 ms doubling to 30 s). */
  retry?: SinkOptions['retry'];
  /** Webhook request timeout (default 10 s). */
  webhookTimeoutMs?: number;
  /** How often onSummary is called (default 60 s). */
  summaryIntervalMs?: number;
  /** On stop, how long deliveries may go on to empty the queue before the sinks are closed (default 2 s). */
  drainMs?: number;
  /** Watch by polling instead of OS events (network shares that send no events). */
  usePolling?: boolean;
  /** Who runs it, in words: written in the output folder's lock (default "bgad watch"). */
  owner?: string;
  onResult?: (r: StationResult) => void;
  onEvent?: (e: StationEvent) => void;
  onSummary?: (s: StationSummary) => void;
}

/** One result, announced once it is on disk (results.jsonl, results.csv) and its event is queued. */
export interface StationResult {
  result: InspectionFileResult;
  record: LogResult;
  event: ResultEvent;
  /** Where --move-to put the file; null when not moved. */
  movedTo: string | null;
  /** True for a result written before a crash whose event had not been queued: announced now. */
  recovered: boolean;
}

/** Notices: the station's state and the sinks' health. */
export type StationEvent =
  | { type: 'started'; input: string; out: string; threshold: number; reviewBand?: ReviewBand | null; pending: number; backlog: Record<string, number> }
  | { type: 'sink-down'; sink: SinkName; target: string; error: string; retryInMs: number }
  | { type: 'sink-up'; sink: SinkName; target: string; failures: number }
  | { type: 'dead-letter'; sink: SinkName; target: string; status: number | null; error: string; eventId: string; path: string }
  | { type: 'warning'; message: string; path?: string }
  | { type: 'stopped'; backlog: Record<string, number> };

export type SinkName = 'webhook' | 'mqtt';

export interface StationSummary {
  at: string;
  uptimeMs: number;
  /** Results announced since the start (recovered ones included). */
  total: number;
  pass: number;
  fail: number;
  error: number;
  /** Results in the review band (0 without one). */
  review: number;
  /** pass / total; null before the first result. */
  yield: number | null;
  /** Results per second over the last summary interval. */
  imagesPerSecond: number;
  /** Files seen and not yet done (settling or waiting). */
  pendingFiles: number;
  /** Events not yet delivered, per sink. */
  backlog: Record<string, number>;
}

export interface Station {
  readonly input: string;
  readonly out: string;
  readonly threshold: number;
  summary(): StationSummary;
  /** Stops cleanly: no new file, the current one finished, files flushed, watcher and sinks closed. */
  stop(): Promise<void>;
  /** Settles when the station has stopped; rejects when it stopped on an error (disk full, results not writable). */
  readonly done: Promise<void>;
}
