/**
 * The desktop app's engine channel: the engine loop runs in an Electron utilityProcess
 * (dist/app/engine-process.cjs), driven by the one EngineHost (src-main/engine/engine-host.ts)
 * exactly as the worker thread of `bgad serve` is. The main process only relays messages. A
 * cancelled job that has not stopped in time gets its process killed; the next job starts a
 * fresh one. This file exists because only app/ may import electron.
 */
import type { UtilityProcess } from 'electron';
import type { EngineEvent } from '../common/engine-protocol';
import { EngineHost, type EngineChannel, type EngineHostOptions } from '../engine/engine-host';

export interface UtilityProcessApi {
  fork(modulePath: string, args?: string[], options?: { serviceName?: string; stdio?: 'inherit' | 'pipe' | 'ignore' }): UtilityProcess;
}

/** The parts of a UtilityProcess the channel uses (tests pass a fake). */
export type EngineChild = Pick<UtilityProcess, 'postMessage' | 'kill' | 'on' | 'once'>;

export function utilityProcessChannel(child: EngineChild): EngineChannel {
  return {
    send: (request) => child.postMessage(request),
    onMessage: (listener) => child.on('message', (message: unknown) => listener(message as EngineEvent)),
    onExit: (listener) => child.on('exit', (code: number) => listener(code)),
    terminate: () => void child.kill(),
  };
}

/** Options of the desktop host: the engine's log to stderr, a graceful shutdown when the app closes. */
export function utilityHostOptions(log: (message: string) => void = (m) => console.error(m), hardCancelMs = 800): EngineHostOptions {
  return { hardCancelMs, name: 'The engine process', shutdownGraceMs: 2000, log: (level, message) => log(`engine ${level}: ${message}`) };
}

/** The engine host over utility processes forked from `entryPath`. */
export function forkEngine(utility: UtilityProcessApi, entryPath: string): EngineHost {
  return new EngineHost(() => utilityProcessChannel(utility.fork(entryPath, [], { serviceName: 'BGAD Inspector engine', stdio: 'inherit' })), utilityHostOptions());
}
