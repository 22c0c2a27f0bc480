/**
 * Entry of the station worker thread (built to dist/engine/station-worker.js): the app's
 * Station view runs its station here, so the ONNX Runtime work of each image (synchronous
 * native work inside onnxruntime-node's `run`) never holds the event loop of the server or the
 * desktop app's main process. It runs `runStation` with the options it is given and relays
 * onResult / onEvent / onSummary, the summary the caller shows, stop() and the end over
 * postMessage (services/station.ts is the other side). `bgad watch` runs runStation in its own
 * process and does not use it.
 *
 * Protocol: the caller posts one `start`, then at most `stop`s. The worker answers `started`
 * (or `start-failed`), relays `result` / `event` / `summary` messages (each with the summary
 * as it is then, for `Station.summary()`), and once the station has stopped (asked to, or on an
 * error of its own) one `end` with both outcomes: the caller then ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError, type SerializedError } from '../common/errors';
import { runStation } from './station';
import type { Station, StationEvent, StationOptions, StationResult, StationSummary } from './types';

/** The station's options as they cross to the worker: plain data (the model as a file path), no callbacks. */
export type StationWorkerOptions = Omit<StationOptions, 'model' | 'onResult' | 'onEvent' | 'onSummary'> & { model: string };

export type StationWorkerRequest = { type: 'start'; options: StationWorkerOptions } | { type: 'stop' };

export type StationWorkerMessage =
  | { type: 'started'; input: string; out: string; threshold: number; summary: StationSummary }
  | { type: 'start-failed'; error: SerializedError }
  | { type: 'result'; result: StationResult; summary: StationSummary }
  | { type: 'event'; event: StationEvent; summary: StationSummary }
  /** `periodic`: an onSummary call (else only a fresher summary, e.g. files seen arriving). */
  | { type: 'summary'; summary: StationSummary; periodic: boolean }
  /** The station has stopped: `doneError` when it stopped on an error, `stopError` when stopping failed. */
  | { type: 'end'; summary: StationSummary; doneError: SerializedError | null; stopError: SerializedError | null };

/** The marker in workerData that makes this module run as the station worker. */
export const STATION_WORKER_MARK = 'bgad-station-worker';

/** How often the caller's copy of the summary is refreshed between results (files seen, backlog). */
const REFRESH_MS = 250;

function serve(port: NonNullable<typeof parentPort>): void {
  const post = (m: StationWorkerMessage) => port.postMessage(m);
  let station: Station | null = null;
  let stopAsked = false;
  const snapshot = (): StationSummary => station!.summary();
  port.on('message', (req: StationWorkerRequest) => {
    if (req.type === 'stop') {
      stopAsked = true;
      void station?.stop().catch(() => undefined);
      return;
    }
    if (req.type !== 'start' || station) return;
    runStation({
      ...req.options,
      onResult: (result) => post({ type: 'result', result, summary: station ? snapshot() : emptySummary() }),
      onEvent: (event) => post({ type: 'event', event, summary: station ? snapshot() : emptySummary() }),
      onSummary: (summary) => post({ type: 'summary', summary, periodic: true }),
    }).then(
      (st) => {
        station = st;
        post({ type: 'started', input: st.input, out: st.out, threshold: st.threshold, summary: snapshot() });
        const refresh = setInterval(() => post({ type: 'summary', summary: snapshot(), periodic: false }), REFRESH_MS);
        if (stopAsked) void st.stop().catch(() => undefined);
        void relayEnd(st, post).finally(() => clearInterval(refresh));
      },
      (e: unknown) => post({ type: 'start-failed', error: serializeError(e) }),
    );
  });
}

/** Waits for the station's end, then posts both outcomes (stop() after done returns at once). */
async function relayEnd(st: Station, post: (m: StationWorkerMessage) => void): Promise<void> {
  const doneError = await st.done.then(() => null, (e: unknown) => serializeError(e));
  const stopError = await st.stop().then(() => null, (e: unknown) => serializeError(e));
  post({ type: 'end', summary: st.summary(), doneError, stopError });
}

/** The summary before the station is up (results recovered at its start come before it). */
function emptySummary(): StationSummary {
  return { at: new Date().toISOString(), uptimeMs: 0, total: 0, pass: 0, fail: 0, error: 0, review: 0, yield: null, imagesPerSecond: 0, pendingFiles: 0, backlog: {} };
}

if (parentPort && workerData === STATION_WORKER_MARK) serve(parentPort);
