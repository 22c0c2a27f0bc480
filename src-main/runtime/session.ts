/**
 * ONNX Runtime session creation with an execution-provider preference: cpu by default;
 * cuda, dml (DirectML) or webgpu when asked and available, else a CPU fallback with a
 * visible notice. Node side (engine process / CLI only).
 *
 * Two CPU-fallback rules are in use (to become one, issue 17): training and evaluation retry
 * on the CPU alone when the provider cannot be created (`fallback: 'retry-on-cpu'`, the
 * default); a model opened for inspection asks for the provider with the CPU behind it in one
 * session and lets a failure through (`fallback: 'provider-list'`, model/scorer.ts).
 */
import * as ort from 'onnxruntime-node';

export type ExecutionProviderName = 'cpu' | 'cuda' | 'dml' | 'webgpu';
export const EXECUTION_PROVIDERS: ExecutionProviderName[] = ['cpu', 'cuda', 'dml', 'webgpu'];

export interface SessionOptions {
  executionProvider?: ExecutionProviderName;
  /** Intra-op threads; default: all cores ORT sees. */
  threads?: number;
  /** Let idle intra-op threads spin (default off: on a 2-core PC shared with the UI and the decoder they cost far more than they save). */
  spin?: boolean;
  /** What happens when the provider is not available (see the head comment). */
  fallback?: 'retry-on-cpu' | 'provider-list';
  /** Called once when the requested provider is not available and the CPU is used instead. */
  onNotice?: (message: string) => void;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  executionProvider: ExecutionProviderName;
  notice?: string;
}

const noticesGiven = new Set<string>();

export function availableProviders(): ExecutionProviderName[] {
  const names = new Set(ort.listSupportedBackends().map((b) => b.name));
  const out: ExecutionProviderName[] = ['cpu'];
  if (names.has('cuda')) out.push('cuda');
  if (names.has('dml')) out.push('dml');
  if (names.has('webgpu')) out.push('webgpu');
  return out;
}

export async function createSession(model: Uint8Array | string, opts: SessionOptions = {}): Promise<CreatedSession> {
  const ep = opts.executionProvider ?? 'cpu';
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    // no busy-waiting worker threads: on a 2-core PC shared with the UI and the decoder,
    // spinning threads cost far more than they save (measured 2.5x in batch inspection)
    extra: { session: { intra_op: { allow_spinning: opts.spin ? '1' : '0' } } },
  };
  if (opts.threads !== undefined) base.intraOpNumThreads = opts.threads;
  const create = (eps: string[]) =>
    typeof model === 'string' ? ort.InferenceSession.create(model, { ...base, executionProviders: eps }) : ort.InferenceSession.create(model, { ...base, executionProviders: eps });
  if (ep === 'cpu') return { session: await create(['cpu']), executionProvider: 'cpu' };
  if (opts.fallback === 'provider-list') return { session: await create([ep, 'cpu']), executionProvider: ep };
  try {
    return { session: await create([ep]), executionProvider: ep };
  } catch (e) {
    const notice = `The ${ep} execution provider is not available here (${(e as Error).message.split('\n')[0]}); using the CPU instead.`;
    if (!noticesGiven.has(notice)) {
      noticesGiven.add(notice);
      opts.onNotice?.(notice);
    }
    return { session: await create(['cpu']), executionProvider: 'cpu', notice };
  }
}
