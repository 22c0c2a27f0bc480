/**
 * Entry of the engine when it runs as a Node worker thread (CLI, browser-mode server,
 * tests) or as a forked child process. Built to dist/engine/worker.js.
 */
import { parentPort } from 'node:worker_threads';
import type { EngineEvent, EngineRequest } from '../common/engine-protocol';
import { runEngineLoop } from './engine-worker-core';
import { JOB_HANDLERS } from './jobs';

if (parentPort) {
  const port = parentPort;
  runEngineLoop({
    post: (e: EngineEvent) => port.postMessage(e),
    onRequest: (l) => port.on('message', (m: EngineRequest) => l(m)),
    exit: (code) => process.exit(code),
    pid: process.pid,
  }, JOB_HANDLERS);
} else if (process.send) {
  const send = process.send.bind(process);
  runEngineLoop({
    post: (e: EngineEvent) => send(e),
    onRequest: (l) => process.on('message', (m: EngineRequest) => l(m)),
    exit: (code) => process.exit(code),
    pid: process.pid,
  }, JOB_HANDLERS);
} else {
  process.stderr.write('The engine worker runs inside BGAD Inspector; start the app, `bgad serve` or a `bgad` command instead.\n');
  process.exit(2);
}
