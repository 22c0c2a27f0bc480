/**
 * Entry of the engine utility process (dist/app/engine-process.cjs), forked by the main
 * process. It runs the same engine loop and job kinds as the Node worker
 * (src-main/engine/engine-worker.ts): all ONNX Runtime sessions live here, never in main.
 */
import type {} from 'electron';
import { runEngineLoop } from '../engine/engine-worker-core';
import { JOB_HANDLERS } from '../engine/jobs';
import { parentPortTransport } from './engine-transport';

runEngineLoop(parentPortTransport(process.parentPort, (code) => process.exit(code), process.pid), JOB_HANDLERS);
