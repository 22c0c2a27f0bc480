/**
 * A session worker: one ONNX Runtime session in its own thread (started by
 * `openSessionInWorker`, runtime/remote-session.ts). onnxruntime-node runs a session on the
 * calling JavaScript thread, so two sessions opened in one thread never run at the same time;
 * in two workers a model's backbone can score one image while its head scores the one before.
 * Runs are answered in the order they arrive; outputs are transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { serializeError } from '../common/errors';
import { createSession } from './session';
import type { FromSessionWorker, SessionWorkerData, ToSessionWorker, WireTensor } from './session-worker-protocol';

const post = (m: FromSessionWorker, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

async function main(): Promise<void> {
  const d = workerData as SessionWorkerData;
  let created: Awaited<ReturnType<typeof createSession>>;
  try {
    created = await createSession(d.model, { threads: d.threads, spin: d.spin, executionProvider: d.executionProvider, optimization: d.optimization });
  } catch (e) {
    post({ type: 'error', id: null, error: serializeError(e) });
    return;
  }
  const { session } = created;
  post({ type: 'ready', executionProvider: created.executionProvider, notice: created.notice, inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
  // one run at a time, in arrival order (ORT's run is synchronous on this thread anyway)
  let chain: Promise<void> = Promise.resolve();
  parentPort!.on('message', (m: ToSessionWorker) => {
    chain = chain.then(() => handle(session, m));
  });
}

async function handle(session: ort.InferenceSession, m: ToSessionWorker): Promise<void> {
  if (m.type === 'release') {
    await session.release().catch(() => undefined);
    post({ type: 'released' });
    parentPort!.close();
    return;
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await session.run(feeds);
    const outputs: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, v] of Object.entries(out)) {
      const t = v as ort.Tensor;
      outputs[name] = { type: t.type as WireTensor['type'], data: t.data as WireTensor['data'], dims: t.dims.map(Number) };
      const buf = (t.data as ArrayBufferView).buffer as ArrayBuffer;
      if (!transfer.includes(buf)) transfer.push(buf);
    }
    try {
      post({ type: 'result', id: m.id, outputs }, transfer);
    } catch {
      post({ type: 'result', id: m.id, outputs }); // a buffer that cannot be detached is copied
    }
  } catch (e) {
    post({ type: 'error', id: m.id, error: serializeError(e) });
  }
}

main().catch((e: unknown) => post({ type: 'error', id: null, error: serializeError(e) }));
