/**
 * The main process's side of the engine utility process: fork it, send EngineRequests, hear
 * EngineEvents, restart-free shutdown. Nothing heavy happens in main: it only relays.
 */
import type { UtilityProcess } from 'electron';
import type { EngineEvent, EngineRequest } from '../common/engine-protocol';

export interface EngineChannel {
  /** Resolves with the engine's pid once it said `ready`. */
  ready: Promise<number>;
  send(request: EngineRequest): void;
  onEvent(listener: (event: EngineEvent) => void): () => void;
  /** Asks the process to stop, then kills it after `graceMs`. */
  dispose(graceMs?: number): Promise<void>;
}

export interface UtilityProcessApi {
  fork(modulePath: string, args?: string[], options?: { serviceName?: string; stdio?: 'inherit' | 'pipe' | 'ignore' }): UtilityProcess;
}

export function startEngineProcess(utility: UtilityProcessApi, entryPath: string, log: (m: string) => void = (m) => console.error(m)): EngineChannel {
  const child = utility.fork(entryPath, [], { serviceName: 'BGAD Inspector engine', stdio: 'inherit' });
  const listeners = new Set<(e: EngineEvent) => void>();
  let exited = false;
  let readyResolve!: (pid: number) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<number>((ok, fail) => {
    readyResolve = ok;
    readyReject = fail;
  });
  child.on('message', (message: unknown) => {
    const event = message as EngineEvent;
    if (event?.type === 'ready') readyResolve(event.pid);
    if (event?.type === 'log') log(`engine: ${event.message}`);
    for (const l of listeners) l(event);
  });
  child.on('exit', (code) => {
    exited = true;
    readyReject(new Error(`The engine process exited with code ${code}.`));
    if (code !== 0) log(`bgad: the engine process exited with code ${code}`);
  });
  return {
    ready,
    send: (request) => {
      if (!exited) child.postMessage(request);
    },
    onEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async dispose(graceMs = 2000) {
      if (exited) return;
      child.postMessage({ type: 'shutdown' } satisfies EngineRequest);
      await new Promise<void>((ok) => {
        const t = setTimeout(() => {
          child.kill();
          ok();
        }, graceMs);
        child.once('exit', () => {
          clearTimeout(t);
          ok();
        });
      });
    },
  };
}
