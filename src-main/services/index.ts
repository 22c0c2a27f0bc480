/**
 * The application services: the contract's handlers (`ApiHandlers`, src-main/common/api.ts),
 * one file per group, composed here over one `ServiceContext`. The transports (the desktop
 * app's IPC, the browser mode's HTTP routes) call them through `dispatch`
 * (src-main/api-host/dispatch.ts), which validates the arguments first.
 */
import { methods, type ApiHandlers, type MethodId } from '../common/api';
import { fileAccess } from '../db/file-access';
import { openStore, type Store } from '../db/store';
import { appHandlers } from './app';
import { auditHandlers } from './audit';
import type { EngineRunner, HostContext, RuntimeSettings, ServiceContext } from './context';
import { datasetsHandlers } from './datasets';
import { defectTypesHandlers } from './defect-types';
import { imagesHandlers } from './images';
import { inspectionHandlers } from './inspection';
import type { Awaitable } from './job-hub';
import { jobsHandlers } from './jobs';
import { masksHandlers } from './masks';
import { modelsHandlers } from './models';
import { reviewHandlers } from './review';
import { stationHandlers, stationManager } from './station';
import { trainingHandlers } from './training';

export type { DialogsPort, EngineRunner, GroupHandlers, HostContext, InferenceApiPort, RuntimeSettings, ServiceContext } from './context';
export { JobHub, type Awaitable, type JobContext, type StartedJob } from './job-hub';
export { SettingsStore } from './settings-store';

/** Methods that cannot work without an engine runner (they answer UNAVAILABLE). */
export const ENGINE_METHODS: readonly MethodId[] = ['training.start', 'models.export', 'models.robustness', 'inspection.inspectImage', 'inspection.startBatch', 'review.retrain'];

/** Every method of the contract over one context. */
export function createApiHandlers(ctx: ServiceContext): ApiHandlers {
  return {
    ...appHandlers(ctx),
    ...jobsHandlers(ctx),
    ...datasetsHandlers(ctx),
    ...imagesHandlers(ctx),
    ...defectTypesHandlers(ctx),
    ...masksHandlers(ctx),
    ...trainingHandlers(ctx),
    ...modelsHandlers(ctx),
    ...inspectionHandlers(ctx),
    ...stationHandlers(ctx),
    ...auditHandlers(ctx),
    ...reviewHandlers(ctx),
  };
}

/** Methods that answer UNAVAILABLE with this context (for start-up logs and reports). */
export function unavailableMethods(ctx: Pick<ServiceContext, 'engine'>): MethodId[] {
  return ctx.engine ? [] : methods.filter((m) => ENGINE_METHODS.includes(m.id)).map((m) => m.id);
}

/** The services as a host (the HTTP server, the desktop app) runs them. */
export interface HostedServices {
  handlers: ApiHandlers;
  /** Methods that answer UNAVAILABLE here (start-up logs). */
  unavailable: readonly MethodId[];
  /** Folders whose images the UI may display, besides the data folder: imported dataset roots and inspected folders. */
  /** `fresh`: not the two-second cache (a folder inspected a moment ago is in). */
  fileRoots(fresh?: boolean): Awaitable<string[]>;
  /**
   * Whether `path` is an image the importer recorded (exactly that path): the UI may show it
   * wherever it lies, e.g. a symbolic link in an imported folder to a file outside it.
   */
  isImportedImage(path: string): Awaitable<boolean>;
  /** Stops the engine and closes the data layer. */
  close(): Promise<void>;
}

/** Services over a data folder, before a host has given them its jobs, settings and mode. */
export interface ServicesSource {
  dataDir: string;
  host(host: HostContext): HostedServices;
}

export interface ServicesOptions {
  /** Where engine jobs run (training, inspection); not used by the data-layer methods. */
  engine?: EngineRunner;
  /** ONNX Runtime settings for engine jobs (threads, execution provider). */
  runtime?: () => Awaitable<RuntimeSettings>;
  heartbeatMs?: number;
}

/** Services over an open store (tests pass their own store); closing them closes it and the engine. */
export function servicesForStore(store: Store, opts: ServicesOptions = {}): ServicesSource {
  const dataDir = store.layout.root;
  return {
    dataDir,
    host(host) {
      const ctx: ServiceContext = { ...host, dataDir, store, ...opts };
      const files = fileAccess(store);
      const stations = stationManager(ctx);
      return {
        handlers: createApiHandlers(ctx),
        unavailable: unavailableMethods(ctx),
        // a station's output and move-to folders may lie outside the data folder
        fileRoots: (fresh?: boolean) => [...files.fileRoots(fresh), ...stations.fileRoots(fresh)],
        isImportedImage: files.isImportedImage,
        close: async () => {
          // the station finishes its current image and closes its run before the database closes
          await stations.shutdown();
          await opts.engine?.dispose();
          store.close();
        },
      };
    },
  };
}

/** Opens the data folder's store (created and migrated as needed). */
export function openServices(opts: ServicesOptions & { dataDir: string }): ServicesSource {
  const { dataDir, ...rest } = opts;
  return servicesForStore(openStore({ dataDir }), rest);
}

/** An engine runner created on its first job (so a server that never trains starts no worker). */
export function lazyEngine(create: () => EngineRunner): EngineRunner {
  let engine: EngineRunner | undefined;
  return {
    run: (kind, params, opts) => (engine ??= create()).run(kind, params, opts),
    dispose: async () => {
      await engine?.dispose();
      engine = undefined;
    },
  };
}
