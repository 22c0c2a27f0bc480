/**
 * Station mode: watch a folder, inspect each image once it is complete, record the result like
 * `bgad inspect`, and tell the line (webhook, MQTT) through a queue kept on disk.
 * `bgad watch` (cli/commands/watch.ts) and the app's Station view are built on runStation.
 */
export { runStation, eventId, resultEvent, WATCH_COMMAND, DEFAULT_SETTLE_MS } from './station';
export type { Station, StationOptions, StationResult, StationEvent, StationSummary, ResultEvent, MqttOptions, SinkName } from './types';
export { EventQueue, QUEUE_DIR, EVENTS_FILE, DEAD_LETTER_FILE, deliveredFile, type QueuedEvent, type DeadLetter } from './event-queue';
export { DEFAULT_RETRY } from './delivery';
export { FolderWatcher, type FolderWatcherOptions } from './watcher';
export { Settler } from './settle';
export { moveInspected } from './move';
export { CSV_FILE } from './csv-log';
export { STATION_WORKER_MARK, type StationWorkerMessage, type StationWorkerOptions, type StationWorkerRequest } from './worker';
