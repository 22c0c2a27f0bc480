/** The engine host over the desktop app's channel, against a fake utility process running the real engine loop. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { utilityHostOptions, utilityProcessChannel, type EngineChild } from '../../src-main/app/engine-channel';
import { EngineHost } from '../../src-main/engine/engine-host';
import type { JobDef } from '../../src-main/common/engine-jobs';
import { parentPortTransport } from '../../src-main/app/engine-transport';
import { AppError } from '../../src-main/common/errors';
import { runEngineLoop, type JobHandler } from '../../src-main/engine/engine-worker-core';

/** A fake utility process: the engine loop runs in this thread behind message queues. */
function fakeChild(handlers: Record<string, JobHandler>, counters: { spawned: number; killed: number }): () => EngineChild {
  return () => {
    counters.spawned++;
    const child = new EventEmitter();
    const port = new EventEmitter();
    let alive = true;
    const die = (code: number) => {
      if (!alive) return;
      alive = false;
      setImmediate(() => child.emit('exit', code));
    };
    runEngineLoop(
      parentPortTransport({ postMessage: (m) => alive && setImmediate(() => child.emit('message', m)), on: (_e, l) => port.on('message', l) }, (c) => die(c), 99),
      handlers,
    );
    return Object.assign(child, {
      postMessage: (m: unknown) => alive && setImmediate(() => port.emit('message', { data: m })),
      kill: () => {
        counters.killed++;
        die(1);
        return true;
      },
    }) as unknown as EngineChild;
  };
}

const handlers: Record<string, JobHandler> = {
  echo: async (p, ctx) => {
    ctx.progress({ fraction: 0.5, message: 'half' });
    return p;
  },
  fail: async () => {
    throw new AppError('BAD_MODEL', 'broken bundle', { hint: 'retrain' });
  },
  stuck: () => new Promise(() => undefined), // ignores cancel, like a long native call
};

/** The test's own job table: any params, any result. */
type TestJobs = Record<'echo' | 'fail' | 'stuck', JobDef<unknown, unknown>>;
const testHost = (spawn: () => EngineChild, hardCancelMs?: number) =>
  new EngineHost<TestJobs>(() => utilityProcessChannel(spawn()), utilityHostOptions(() => {}, hardCancelMs));

describe('desktop engine host (utility process)', () => {
  it('runs a job with progress and returns its result', async () => {
    const counters = { spawned: 0, killed: 0 };
    const host = testHost(fakeChild(handlers, counters));
    const progress: number[] = [];
    expect(await host.run('echo', { a: 1 }, { onProgress: (p) => progress.push(p.fraction) })).toEqual({ a: 1 });
    expect(progress).toEqual([0.5]);
    await expect(host.run('fail', {})).rejects.toMatchObject({ code: 'BAD_MODEL', hint: 'retrain' });
    expect(counters.spawned).toBe(1);
    await host.dispose(100);
  });

  it('kills a job that ignores cancel and starts a fresh process for the next one', async () => {
    const counters = { spawned: 0, killed: 0 };
    const host = testHost(fakeChild(handlers, counters), 50);
    const ac = new AbortController();
    const stuck = host.run('stuck', {}, { signal: ac.signal });
    ac.abort();
    await expect(stuck).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(counters.killed).toBe(1);
    expect(await host.run('echo', 'again')).toBe('again');
    expect(counters.spawned).toBe(2);
    await host.dispose(100);
  });
});
