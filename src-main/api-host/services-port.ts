/**
 * What the API handlers need from the services (node side). The real services live in
 * src-main/services and src-main/db (data layer) and src-main/engine (engine host); an
 * adapter (services-wiring.ts) fits them to this port. A group left out answers every call
 * with AppError('UNAVAILABLE'), so the UI can show what is not there yet.
 *
 * Rule for implementers: nothing here may block the event loop. ONNX Runtime work
 * (training, inference, feature extraction) goes to the engine host (a worker/child/utility
 * process); these functions only start it and wait asynchronously.
 */
import type {
  ArgsOf,
  MethodId,
  Backbone,
  Dataset,
  DatasetSummary,
  DefectType,
  ExecutionProvider,
  ImagePage,
  ImageRecord,
  ImportRun,
  ImportSummary,
  InspectionResult,
  InspectionRun,
  InspectionSummary,
  MaskInfo,
  MaskPixels,
  ModelComparison,
  ModelVersion,
  ScoreHistogram,
  SingleInspection,
  TrainingRun,
  TrainingRunDetail,
} from '../common/api';
import type { EngineProgress } from '../common/engine-protocol';

export type Awaitable<T> = T | Promise<T>;

/** Handed to a service that runs a job: report progress, stop when the signal aborts. */
export interface JobContext {
  jobId: string;
  signal: AbortSignal;
  progress(progress: EngineProgress): void;
}

/** A job that has started: its database row (when any) and its completion. */
export interface StartedJob<R> {
  runId?: number;
  done: Promise<R>;
}

export interface DatasetsPort {
  list(): Awaitable<DatasetSummary[]>;
  create(name: string): Awaitable<Dataset>;
  rename(datasetId: number, name: string): Awaitable<Dataset>;
  /** Refuses (BAD_ARGUMENT/CONFLICT) unless confirmName is the dataset's exact name. */
  delete(datasetId: number, confirmName: string): Awaitable<{ deletedImages: number }>;
}

export interface ImportPort {
  importFolder(args: ArgsOf<'datasets.importFolder'>, job: JobContext): Awaitable<StartedJob<ImportSummary>>;
  importRuns(args: ArgsOf<'datasets.importRuns'>): Awaitable<ImportRun[]>;
}

export interface ImagesPort {
  list(query: ArgsOf<'images.list'>): Awaitable<ImagePage>;
  get(imageId: number): Awaitable<ImageRecord>;
  setLabel(args: ArgsOf<'images.setLabel'>): Awaitable<{ changed: number }>;
  setSplit(args: ArgsOf<'images.setSplit'>): Awaitable<{ changed: number }>;
}

export interface DefectTypesPort {
  list(datasetId: number): Awaitable<DefectType[]>;
  create(args: ArgsOf<'defectTypes.create'>): Awaitable<DefectType>;
  setColour(args: ArgsOf<'defectTypes.setColour'>): Awaitable<DefectType>;
}

export interface MasksPort {
  list(imageId: number): Awaitable<MaskInfo[]>;
  get(imageId: number, defectTypeId: number): Awaitable<(MaskPixels & { info: MaskInfo }) | null>;
  save(args: ArgsOf<'masks.save'>): Awaitable<MaskInfo | null>;
}

export interface TrainingPort {
  backbones(): Awaitable<Backbone[]>;
  /** Starts the run in the engine host (never in this process's event loop). */
  start(args: ArgsOf<'training.start'>, job: JobContext): Awaitable<StartedJob<unknown> & { runId: number }>;
  listRuns(datasetId: number): Awaitable<TrainingRun[]>;
  getRun(runId: number): Awaitable<TrainingRunDetail>;
}

export interface ModelsPort {
  list(datasetId: number): Awaitable<ModelVersion[]>;
  histogram(args: ArgsOf<'models.histogram'>): Awaitable<ScoreHistogram>;
  setThreshold(args: ArgsOf<'models.setThreshold'>): Awaitable<ModelVersion>;
  activate(modelId: number): Awaitable<ModelVersion>;
  compare(modelIdA: number, modelIdB: number): Awaitable<ModelComparison>;
  export(args: ArgsOf<'models.export'>): Awaitable<{ path: string }>;
}

export interface InspectionPort {
  /** Must delegate the model run to the engine host (never session.run here). */
  inspectImage(args: ArgsOf<'inspection.inspectImage'>): Awaitable<SingleInspection>;
  startBatch(args: ArgsOf<'inspection.startBatch'>, job: JobContext): Awaitable<StartedJob<unknown> & { runId: number }>;
  listRuns(args: ArgsOf<'inspection.listRuns'>): Awaitable<InspectionRun[]>;
  getRun(runId: number): Awaitable<InspectionRun & { summary: InspectionSummary }>;
  results(args: ArgsOf<'inspection.results'>): Awaitable<{ items: InspectionResult[]; total: number }>;
  exportReport(args: ArgsOf<'inspection.exportReport'>): Awaitable<{ path: string }>;
}

/**
 * Runs the engine's jobs (the contract: src-main/common/engine-jobs.ts) away from this event
 * loop: src-main/engine/engine-host.ts, over a worker thread in `bgad serve` or a utility
 * process in the desktop app.
 */
export type { EngineRunner, EngineRunOptions } from '../common/engine-jobs';

export interface ServicesPort {
  dataDir: string;
  datasets?: DatasetsPort;
  importer?: ImportPort;
  images?: ImagesPort;
  defectTypes?: DefectTypesPort;
  masks?: MasksPort;
  training?: TrainingPort;
  models?: ModelsPort;
  inspection?: InspectionPort;
  /** Methods whose group is present but which cannot work yet (they answer UNAVAILABLE). */
  unavailable?: readonly MethodId[];
  /** Execution providers the engine can use (default: CPU only). */
  executionProviders?(): Awaitable<ExecutionProvider[]>;
  /**
   * Folders whose images the UI may display, besides the data folder: imported dataset
   * roots and inspected folders.
   */
  fileRoots?(): Awaitable<string[]>;
  /**
   * Whether `path` is an image the importer recorded (exactly that path): the UI may show it
   * wherever it lies, e.g. a symbolic link in an imported folder to a file outside it.
   */
  isImportedImage?(path: string): Awaitable<boolean>;
  close?(): Awaitable<void>;
}
