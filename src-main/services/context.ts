/**
 * What the application services share: the data layer, the job hub, the settings, the host's
 * facts and the engine. Each group file (app.ts, datasets.ts, ..., inspection.ts) implements
 * its slice of the contract's `ApiHandlers` over one `ServiceContext`; index.ts composes them.
 *
 * Rule for implementers: nothing here may block the event loop. ONNX Runtime work (training,
 * inference, feature extraction) goes to the engine host (a worker thread or a utility
 * process) through `ctx.engine`; the services only start it and wait asynchronously.
 */
import type { ApiHandlers, ApiListenerStatus, AppInfo, ExecutionProvider, Group, MethodId } from '../common/api';
import type { EngineRunner } from '../common/engine-jobs';
import type { Store } from '../db/store';
import type { Awaitable, JobHub } from './job-hub';
import type { SettingsStore } from './settings-store';

export type { EngineRunner, EngineRunOptions } from '../common/engine-jobs';

/** The contract's handlers of one group, e.g. `GroupHandlers<'datasets'>`: `datasets.list`, `datasets.create`, ... */
export type GroupHandlers<G extends Group> = Pick<ApiHandlers, Extract<MethodId, `${G}.${string}`>>;

/** Native pickers for app.pickFolder / pickFile / pickSaveFile (desktop app only). */
export interface DialogsPort {
  pickFolder(args: { title?: string }): Promise<{ path: string | null }>;
  pickFile(args: { title?: string; filterName?: string; extensions?: string[] }): Promise<{ path: string | null }>;
  pickSaveFile(args: { title?: string; defaultName?: string; extensions?: string[] }): Promise<{ path: string | null }>;
}

/** What the composition root (desktop app, browser mode) decides. */
export interface HostContext {
  /** Runs the long calls as jobs; the transport subscribes to its events. */
  jobs: JobHub;
  /** App settings (app.getSettings / app.setSettings). */
  settings: SettingsStore;
  mode: AppInfo['mode'];
  version: string;
  /** Native pickers (desktop app only). */
  dialogs?: DialogsPort;
  /** Whether the data folder may be changed from the UI (desktop app: next start). */
  canChangeDataDir: boolean;
  /** The desktop app's inference API server, switched by the `apiEnabled`/`apiPort` settings (browser mode serves /v1 itself). */
  inferenceApi?: InferenceApiPort;
}

/** Starts, moves and stops the inference API server (api-host/api-listener.ts); never throws for a port that cannot be used: the status says so. */
export interface InferenceApiPort {
  apply(settings: { enabled: boolean; port: number }): Promise<ApiListenerStatus>;
  status(): ApiListenerStatus;
}

export interface RuntimeSettings {
  threads: number;
  executionProvider: ExecutionProvider;
}

export interface ServiceContext extends HostContext {
  /** The data folder (the store's root). */
  dataDir: string;
  /** The data layer: the data folder's database (src-main/db). */
  store: Store;
  /**
   * Runs the engine's jobs (src-main/common/engine-jobs.ts) away from this event loop: the
   * engine host over a worker thread (`bgad serve`) or a utility process (desktop app).
   * Without it the engine-backed methods answer UNAVAILABLE.
   */
  engine?: EngineRunner;
  /** ONNX Runtime settings read at the start of each engine job (Settings view). */
  runtime?: () => Awaitable<RuntimeSettings>;
  /** Heartbeat interval of a running training run (the data layer marks silent runs stale). */
  heartbeatMs?: number;
}
