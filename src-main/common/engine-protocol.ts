/**
 * Messages between a caller (CLI, HTTP server, Electron main) and the engine process or
 * worker that owns every ONNX Runtime session. Pure types: structured-clone friendly.
 */
import type { SerializedError } from './errors';

export type EngineRequest =
  | { type: 'start'; jobId: string; kind: string; params: unknown }
  | { type: 'cancel'; jobId: string }
  | { type: 'shutdown' }
  /** Cancel every job and exit once none is running (no native call is cut short). */
  | { type: 'retire' };

export interface EngineProgress {
  /** 0..1 over the whole job. */
  fraction: number;
  /** What is happening now, in words ("training level 2, step 310/1200"). */
  message?: string;
  /** Estimated time left in milliseconds, when known. */
  etaMs?: number;
  /** Job-specific payload (e.g. loss values for live curves). */
  data?: unknown;
}

export type EngineEvent =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; jobId: string; progress: EngineProgress }
  | { type: 'result'; jobId: string; value: unknown }
  | { type: 'error'; jobId: string; error: SerializedError }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
