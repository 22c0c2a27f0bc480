import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src-main/autodiff/graph';
import { emitOnnx } from '../../src-main/autodiff/emit';
import { createSession } from '../../src-main/runtime/session';
import { openSessionInWorker } from '../../src-main/runtime/remote-session';
import { findEngineScript } from '../../src-main/runtime/built-files';

/** y = tanh(x W) summed per row, big enough that runs take a moment. */
function model(): Uint8Array {
  const g = new Graph('float32');
  const x = g.input('x', ['N', 64]);
  const w = new Float32Array(64 * 64).map((_, i) => Math.sin(i) / 8);
  const y = g.tanh(g.matmul(x, g.constant(w, [64, 64])));
  g.output('y', y);
  g.output('s', g.reduceSum(y, [1]));
  return emitOnnx(g);
}

const script = findEngineScript('session-worker.js');
const input = (n: number, k: number) => new ort.Tensor('float32', Float32Array.from({ length: n * 64 }, (_, i) => Math.cos(i * k)), [n, 64]);

describe.skipIf(!script)('an ONNX Runtime session in a worker thread', () => {
  it('gives the same outputs as the session in this thread, answers concurrent runs each with its own result, and closes', async () => {
    const bytes = model();
    const local = (await createSession(bytes, { threads: 1 })).session;
    const remote = (await openSessionInWorker(bytes, { threads: 1 }, script))!;
    try {
      const runs = await Promise.all([1, 2, 3, 4].map((k) => remote.run({ x: input(500, k) })));
      for (const [i, k] of [1, 2, 3, 4].entries()) {
        const want = await local.run({ x: input(500, k) });
        expect(runs[i]!.y!.dims).toEqual([500, 64]);
        expect(Array.from(runs[i]!.s!.data as Float32Array)).toEqual(Array.from(want.s!.data as Float32Array));
        expect(Array.from(runs[i]!.y!.data as Float32Array)).toEqual(Array.from(want.y!.data as Float32Array));
      }
      // inputs handed over by transfer are gone from this thread; others stay usable
      const kept = input(10, 5);
      await remote.run({ x: kept });
      expect((kept.data as Float32Array).length).toBe(640);
      const moved = input(10, 6);
      await remote.run({ x: moved }, { transferInputs: true });
      expect((moved.data as Float32Array).length).toBe(0);
    } finally {
      await remote.release();
      await local.release();
    }
    await expect(remote.run({ x: input(1, 1) })).rejects.toThrow(/closed/);
  });

  it('reports a run that fails (a wrong input shape) as an error of that run, and keeps serving', async () => {
    const remote = (await openSessionInWorker(model(), { threads: 1 }, script))!;
    try {
      const bad = new ort.Tensor('float32', new Float32Array(10), [1, 10]);
      await expect(remote.run({ x: bad })).rejects.toThrow(/x|dimension|shape/i);
      const ok = await remote.run({ x: input(2, 1) });
      expect(ok.s!.dims).toEqual([2]);
    } finally {
      await remote.release();
    }
  });

  it('refuses a model that cannot be loaded with the reason, and leaves no thread behind', async () => {
    await expect(openSessionInWorker(new Uint8Array([1, 2, 3, 4]), {}, script)).rejects.toThrow(/protobuf|parse|load|model/i);
  });

  it('is not used when the worker is not built: the caller opens the session itself', async () => {
    expect(await openSessionInWorker(model(), {}, null)).toBeNull();
    expect(existsSync(script!)).toBe(true);
  });
});
