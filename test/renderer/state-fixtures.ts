/**
 * Fixtures of the view state tests: a fake API client (plain functions answering at once,
 * every call recorded), an event source like the real one, and records as the services
 * return them. The modules under test are loaded with ./runes.ts.
 */
import type { ApiEvent, AppInfo, ImageRecord, InspectionResult, InspectionRun, ModelVersion, Verdict } from '../../src-main/common/api';
import type { ApiClient } from '../../src-renderer/lib/api-client';
import type * as AppStateModule from '../../src-renderer/lib/app-state.svelte';
import type * as RootModule from './runes-root.svelte';
import { runesLoader, type RunesLoader } from './runes';

type Fn = (args: any) => unknown;
export type FakeGroups = Record<string, Record<string, Fn>>;

export interface Call {
  name: string;
  args: unknown;
}

export interface FakeApi {
  api: ApiClient;
  /** Every call, in order (`group.name` and its arguments). */
  calls: Call[];
  /** How many calls of `name` (`group.name`) were made (since `forget`). */
  count(name: string): number;
  /** The arguments of the calls of `name`. */
  argsOf<T = Record<string, unknown>>(name: string): T[];
  /** Forgets the calls so far. */
  forget(): void;
  /** Delivers an event, as the preload or the socket does. */
  emit(event: ApiEvent): void;
}

export const APP_INFO: AppInfo = { name: 'BGAD Inspector', version: '0.1.0', mode: 'browser', platform: 'linux', dataDir: '/data', hasNativeDialogs: false, executionProviders: ['cpu'], cpuCount: 2 };

/** An API client whose methods are `groups`' functions (with harmless defaults for the app's own start-up calls). */
export function fakeApi(groups: FakeGroups): FakeApi {
  const calls: Call[] = [];
  const listeners = new Set<(e: ApiEvent) => void>();
  const defaults: FakeGroups = {
    app: { info: () => APP_INFO, checkPath: (a: { path: string }) => ({ path: a.path, exists: false, isDirectory: false, isWritable: true }) },
    datasets: { list: () => [], getInspectionArea: () => null },
    jobs: { list: () => [], cancel: () => null },
  };
  const api: Record<string, unknown> = {};
  for (const name of new Set([...Object.keys(defaults), ...Object.keys(groups)])) {
    const fns = { ...defaults[name], ...groups[name] };
    api[name] = Object.fromEntries(
      Object.entries(fns).map(([m, fn]) => [
        m,
        async (args: unknown) => {
          calls.push({ name: `${name}.${m}`, args });
          return fn(args);
        },
      ]),
    );
  }
  Object.assign(api, {
    mode: 'browser',
    onEvent: (l: (e: ApiEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    fileUrl: (p: string) => `/files?path=${encodeURIComponent(p)}`,
    thumbUrl: (p: string, size: number) => `/files?path=${encodeURIComponent(p)}&thumb=${size}`,
  });
  return {
    api: api as unknown as ApiClient,
    calls,
    count: (n) => calls.filter((c) => c.name === n).length,
    argsOf: <T>(n: string) => calls.filter((c) => c.name === n).map((c) => c.args as T),
    forget: () => void calls.splice(0),
    emit: (e) => {
      for (const l of [...listeners]) l(e);
    },
  };
}

/** A window for `AppState.start` (address and hash events only). */
export function fakeWindow(hash = ''): Window {
  return { location: { hash }, addEventListener: () => undefined, removeEventListener: () => undefined } as unknown as Window;
}

/** The runes modules every state test uses, from one loader. */
export interface Runes {
  loader: RunesLoader;
  app: typeof AppStateModule;
  root: typeof RootModule;
}

export async function loadRunes(): Promise<Runes> {
  const loader = await runesLoader();
  const [app, root] = await Promise.all([
    loader.import<typeof AppStateModule>('src-renderer/lib/app-state.svelte.ts'),
    loader.import<typeof RootModule>('test/renderer/runes-root.svelte.ts'),
  ]);
  return { loader, app, root };
}

// ---- records ------------------------------------------------------------------------------------

export function model(id: number, over: Partial<ModelVersion> = {}): ModelVersion {
  return {
    id, datasetId: 1, number: id, name: null, backboneId: 'wide-resnet50', backboneHash: 'x', config: { preset: 'fast' }, bundleFile: `models/${id}.bgad`,
    calibration: null, threshold: 0.5, reviewBand: null, metrics: { imageAuroc: 0.9 }, evalSplit: null, status: 'ready', parentId: null, trainingRunId: null, isActive: false,
    createdAtMs: 0, updatedAtMs: 0, ...over,
  };
}

export function inspectionRun(id: number, over: Partial<InspectionRun> = {}): InspectionRun {
  return { id, datasetId: 1, modelVersionId: 1, source: '/parts/line-1', threshold: 0.5, reviewBand: null, status: 'completed', pid: null, heartbeatAtMs: null, error: null, createdAtMs: 0, startedAtMs: 0, finishedAtMs: 1, ...over };
}

export function inspectionResult(id: number, runId: number, verdict: Verdict, score: number | null, path = `/parts/line-1/${String(id).padStart(3, '0')}.png`): InspectionResult {
  return { id, runId, path, sha256: `sha-${id}`, score, verdict, error: verdict === 'error' ? 'unreadable' : null, createdAtMs: 0, heatmapPath: `/data/heat/${id}.png` };
}

export function imageRecord(id: number, over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id, datasetId: 1, path: `/parts/${id}.png`, sha256: `sha-${id}`, width: 20, height: 10, channels: 3, bitDepth: 8, format: 'png', bytes: 100,
    label: 'good', split: 'train', defectTypeId: null, defectType: null, source: `${id}.png`, importRunId: 1, maskCount: 0, createdAtMs: 0, updatedAtMs: 0, ...over,
  };
}
