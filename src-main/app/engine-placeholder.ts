/**
 * Stand-in engine loop for the utility process until the engine worker core
 * (src-main/runtime/engine-worker-core.ts) is wired in: it answers `ready`, refuses every job
 * with ENGINE_FAILED in words, and exits on `shutdown`.
 */
import type { EngineEvent, EngineRequest } from '../common/engine-protocol';

export interface EnginePortLike {
  postMessage(message: EngineEvent): void;
  on(event: 'message', listener: (message: { data: unknown }) => void): unknown;
}

export function runEnginePlaceholder(port: EnginePortLike, exit: (code: number) => void, pid: number): void {
  port.on('message', ({ data }) => {
    const req = data as EngineRequest;
    if (req?.type === 'start') {
      port.postMessage({
        type: 'error',
        jobId: req.jobId,
        error: { code: 'ENGINE_FAILED', message: `The engine cannot run "${req.kind}" jobs in this build yet.`, hint: 'Update BGAD Inspector.' },
      });
    } else if (req?.type === 'shutdown') {
      exit(0);
    }
  });
  port.postMessage({ type: 'ready', pid });
}
