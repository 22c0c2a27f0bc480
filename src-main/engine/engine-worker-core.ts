/**
 * The engine loop, independent of its transport (worker_threads in Node, a child process,
 * or an Electron utilityProcess): receives EngineRequests, runs registered job kinds with an
 * AbortSignal and a progress callback, posts EngineEvents. All ONNX Runtime work of the
 * product happens inside the process or thread that runs this loop.
 */
import type { EngineEvent, EngineProgress, EngineRequest } from '../common/engine-protocol';
import { serializeError } from '../common/errors';
import type { JobArgs, JobName, JobResult } from '../common/engine-jobs';

export interface JobContext {
  signal: AbortSignal;
  progress(p: EngineProgress): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export type JobHandler = (params: unknown, ctx: JobContext) => Promise<unknown>;

/** A job's handler, given params the contract (common/engine-jobs.ts) has already validated. */
export type TypedJobHandler<K extends JobName> = (params: JobArgs<K>, ctx: JobContext) => Promise<JobResult<K>>;
export type TypedJobHandlers<K extends JobName = JobName> = { [J in K]: TypedJobHandler<J> };

export interface EngineTransport {
  post(event: EngineEvent): void;
  onRequest(listener: (req: EngineRequest) => void): void;
  exit(code: number): void;
  pid: number;
}

/** How long the engine waits for its shutdown hooks before it exits anyway. */
const SHUTDOWN_HOOKS_MS = 1000;
const shutdownHooks = new Set<() => Promise<void>>();

/** Registers work done when the engine is asked to shut down (releasing open models), before it exits. */
export function onEngineShutdown(hook: () => Promise<void>): void {
  shutdownHooks.add(hook);
}

/** Runs the shutdown hooks, for at most `SHUTDOWN_HOOKS_MS`; never throws. */
export async function runShutdownHooks(): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<void>((ok) => { timer = setTimeout(ok, SHUTDOWN_HOOKS_MS); });
  await Promise.race([Promise.allSettled([...shutdownHooks].map(async (h) => h())), limit]);
  clearTimeout(timer);
}

export function runEngineLoop(transport: EngineTransport, handlers: Record<string, JobHandler>): void {
  const running = new Map<string, AbortController>();
  let retiring = false;
  const exitWhenIdle = () => {
    if (retiring && running.size === 0) void runShutdownHooks().then(() => transport.exit(0));
  };
  transport.onRequest((req) => {
    if (req.type === 'retire') {
      retiring = true;
      for (const ac of running.values()) ac.abort();
      exitWhenIdle();
      return;
    }
    if (req.type === 'cancel') {
      running.get(req.jobId)?.abort();
      return;
    }
    if (req.type === 'shutdown') {
      for (const ac of running.values()) ac.abort();
      void runShutdownHooks().then(() => transport.exit(0));
      return;
    }
    if (req.type !== 'start' || retiring) return;
    const handler = handlers[req.kind];
    if (!handler) {
      transport.post({ type: 'error', jobId: req.jobId, error: { code: 'BAD_ARGUMENT', message: `The engine has no job kind "${req.kind}".` } });
      return;
    }
    const ac = new AbortController();
    running.set(req.jobId, ac);
    const ctx: JobContext = {
      signal: ac.signal,
      progress: (progress) => transport.post({ type: 'progress', jobId: req.jobId, progress }),
      log: (level, message) => transport.post({ type: 'log', level, message }),
    };
    handler(req.params, ctx).then(
      (value) => transport.post({ type: 'result', jobId: req.jobId, value }),
      (e) => {
        if (!(e && typeof e === 'object' && 'code' in e)) transport.post({ type: 'log', level: 'error', message: `job ${req.kind} failed: ${(e as Error)?.stack ?? String(e)}` });
        transport.post({ type: 'error', jobId: req.jobId, error: serializeError(e) });
      },
    ).finally(() => {
      running.delete(req.jobId);
      exitWhenIdle();
    });
  });
  transport.post({ type: 'ready', pid: transport.pid });
}
