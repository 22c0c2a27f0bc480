/**
 * Messages between `openSessionInWorker` (runtime/remote-session.ts) and the session worker
 * (runtime/session-worker.ts, built to dist/engine/session-worker.js). Pure types.
 */
import type { SerializedError } from '../common/errors';
import type { ExecutionProvider } from '../common/records';

/** A tensor as it crosses the thread boundary (its buffer is copied or transferred). */
export interface WireTensor {
  type: 'float32' | 'int64' | 'int32' | 'uint8' | 'bool';
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  dims: number[];
}

export interface SessionWorkerData {
  model: string | Uint8Array;
  threads?: number;
  spin?: boolean;
  executionProvider?: ExecutionProvider;
  optimization?: 'basic' | 'all';
}

export type ToSessionWorker =
  | { type: 'run'; id: number; feeds: Record<string, WireTensor> }
  | { type: 'release' };

export type FromSessionWorker =
  | { type: 'ready'; executionProvider: ExecutionProvider; notice?: string; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'error'; id: number | null; error: SerializedError }
  | { type: 'released' };
