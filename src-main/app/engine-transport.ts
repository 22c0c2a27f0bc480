/** The engine loop's transport inside an Electron utilityProcess (process.parentPort). */
import type { EngineEvent, EngineRequest } from '../common/engine-protocol';
import type { EngineTransport } from '../engine/engine-worker-core';

export interface ParentPortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: { data: unknown }) => void): unknown;
}

export function parentPortTransport(port: ParentPortLike, exit: (code: number) => void, pid: number): EngineTransport {
  return {
    post: (e: EngineEvent) => port.postMessage(e),
    onRequest: (listener) => port.on('message', ({ data }) => listener(data as EngineRequest)),
    exit,
    pid,
  };
}
