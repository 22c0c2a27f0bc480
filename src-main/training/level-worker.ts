/**
 * A level worker: trains one level's flow in its own thread (started by trainFlows), so the
 * levels of a model use all cores. It reports progress every half second, checks the shared
 * cancel word at every step and counts non-finite steps in the shared counter of all levels.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, serializeError } from '../common/errors';
import { divergedError, LevelTrainer, nanLimit, type LevelWorkerData, type LevelWorkerMessage } from './trainer';

async function main(): Promise<void> {
  const { job, threads, control } = workerData as LevelWorkerData;
  const ctl = new Int32Array(control);
  const post = (m: LevelWorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
  const trainer = await LevelTrainer.create(job, { threads });
  try {
    let last = 0;
    for (let step = 0; step < job.steps; step++) {
      if (Atomics.load(ctl, 0)) throw new AppError('CANCELLED', 'Training was cancelled.');
      if (!(await trainer.step(step))) {
        const total = Atomics.add(ctl, 1, 1) + 1;
        if (total > nanLimit(job.steps)) throw divergedError(total);
      }
      const now = performance.now();
      if (now - last > 500) {
        last = now;
        post({ type: 'progress', step: step + 1, point: trainer.curve.at(-1) ?? null });
      }
    }
    const outcome = trainer.outcome();
    post({ type: 'done', outcome }, [...new Set(outcome.values.map((v) => v.buffer as ArrayBuffer))]);
  } finally {
    await trainer.release();
  }
}

main().catch((e: unknown) => parentPort!.postMessage({ type: 'error', error: serializeError(e) } satisfies LevelWorkerMessage));
