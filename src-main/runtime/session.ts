/**
 * THE ONNX Runtime session factory: every `ort.InferenceSession` of the product is created
 * here (training, evaluation, the scorer, backbones and their checks, export verification,
 * the engine benchmark). Node side (engine process / CLI only).
 *
 * The CPU-fallback rule (one for all): the session asks for the requested execution provider
 * (cpu by default; cuda, dml (DirectML) or webgpu when asked); ONNX Runtime runs the nodes
 * that provider lacks on the CPU itself. When a session cannot be created with that provider
 * at all, the factory says so once per process (`onNotice`) and creates the session on the CPU
 * instead; `executionProvider` in the answer tells which one runs. A failure on the CPU goes
 * to the caller.
 */
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../common/records';


export interface SessionOptions {
  executionProvider?: ExecutionProvider;
  /** Intra-op threads; default: all cores ORT sees. */
  threads?: number;
  /** Let idle intra-op threads spin (default off: on a 2-core PC shared with the UI and the decoder they cost far more than they save). */
  spin?: boolean;
  /** ONNX Runtime graph optimisations (default 'all'; 'basic' for a quick check of a foreign graph). */
  optimization?: 'basic' | 'all';
  /** Called once when the requested provider is not available and the CPU is used instead. */
  onNotice?: (message: string) => void;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  executionProvider: ExecutionProvider;
  notice?: string;
}

const noticesGiven = new Set<string>();

export function availableProviders(): ExecutionProvider[] {
  const names = new Set(ort.listSupportedBackends().map((b) => b.name));
  const out: ExecutionProvider[] = ['cpu'];
  if (names.has('cuda')) out.push('cuda');
  if (names.has('dml')) out.push('dml');
  if (names.has('webgpu')) out.push('webgpu');
  return out;
}

export async function createSession(model: Uint8Array | string, opts: SessionOptions = {}): Promise<CreatedSession> {
  const ep = opts.executionProvider ?? 'cpu';
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.optimization ?? 'all',
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
